"""The orchestrator: FastAPI in front of DBOS workflows on SQLite.

``POST /claims`` starts (or, for a known ``Idempotency-Key``, finds) a claim workflow;
``GET /claims/{id}`` reports its DBOS status, current stage, finished steps and result.
Endpoints are sync ``def`` because DBOS's sync API refuses to run inside an event loop;
FastAPI runs them in its threadpool. ``application_version`` is pinned so a restarted
process recovers the PENDING workflows of the previous one.

Run: ``python -m harness.sandbox.orchestrator --port P --state-dir DIR --config DIR/orchestrator.json``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from harness.sandbox.common import ErrorDetail, agent_arg_parser, serve
from harness.sandbox.config import OrchestratorConfig


class Customer(BaseModel):
    name: str = Field(min_length=1)
    email: str = Field(min_length=3)
    iban: str = Field(min_length=5)


class ClaimIn(BaseModel):
    claim_id: str = Field(min_length=1, max_length=200)
    amount: float = Field(gt=0, le=10_000_000)
    customer: Customer
    description: str = ""


def setup_dbos(cfg: OrchestratorConfig) -> dict[str, Any]:
    """Construct DBOS and register the workflow; returns the decorated step functions."""
    from dbos import DBOS

    from harness.sandbox import flow

    _tune_sqlite(cfg.state_dir / "dbos.sqlite")
    DBOS(config={
        "name": "sandbox-orchestrator",
        "system_database_url": f"sqlite:///{(cfg.state_dir / 'dbos.sqlite').resolve()}",
        "application_version": cfg.app_version,  # pinned: recovery only resumes the same version
        "executor_id": "local",
        "log_level": "WARNING",
    })
    steps = {name: DBOS.step(name=name)(fn) for name, fn in flow.STEP_FUNCTIONS.items()}

    class DurableRunner:
        def __init__(self) -> None:
            self.workflow_id = str(DBOS.workflow_id)

        def step(self, name: str, *args: Any) -> dict[str, Any]:
            return steps[name](*args)

        def stage(self, stage: str) -> None:
            DBOS.set_event("stage", stage)

        def sleep(self, seconds: float) -> None:
            DBOS.sleep(seconds)

    @DBOS.workflow(name="claim_workflow")
    def claim_workflow(claim: dict[str, Any]) -> dict[str, Any]:
        return flow.run_claim(DurableRunner(), claim)

    return {"workflow": claim_workflow}


def _tune_sqlite(db: Path) -> None:
    """WAL journal + ``synchronous=NORMAL`` for DBOS's SQLite file.

    The default rollback journal fsyncs twice per commit; with ~12 commits per claim, 50
    concurrent claims took seconds just to be accepted. WAL with NORMAL keeps every
    committed step across a process crash (SIGKILL, the failure the sandbox models) and
    only risks the last commits on power loss, which a staging sandbox can afford.
    """
    import sqlite3

    import sqlalchemy as sa

    db.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # persistent in the file

    def on_connect(dbapi_conn: Any, record: Any) -> None:
        if isinstance(dbapi_conn, sqlite3.Connection):
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    sa.event.listen(sa.engine.Engine, "connect", on_connect)


def create_app(cfg: OrchestratorConfig) -> FastAPI:
    from dbos import DBOS, SetWorkflowID

    from harness.sandbox import flow

    c = flow.init(cfg)
    registered = setup_dbos(cfg)
    durable = not cfg.has("lose_inflight_on_crash")
    memory: dict[str, flow.MemoryRunner] = {}
    memory_lock = threading.Lock()
    wrong_errors = cfg.has("wrong_error_mapping")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        DBOS.launch()  # also recovers PENDING workflows of this executor and version
        yield
        DBOS.destroy()
        c.provider.shutdown()

    app = FastAPI(title="sandbox orchestrator", version="1.0.0", lifespan=lifespan)

    def client_error(status: int, detail: Any) -> JSONResponse:
        if wrong_errors:  # defect: the caller's mistake reported as a server failure
            return JSONResponse({"detail": detail}, status_code=500)
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's documented 422 shape (HTTPValidationError): loc, msg and type per item
        return client_error(422, [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                                  for e in exc.errors()])

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body": answer the documented 422
            return client_error(422, [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}])
        if 400 <= exc.status_code < 500:
            return client_error(exc.status_code, exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "durable": durable, "defects": cfg.defects}

    @app.get("/breakers")
    def breakers() -> dict[str, Any]:
        return {name: b.snapshot() for name, b in c.breakers.items()}

    @app.post("/claims", status_code=202)
    def submit(claim: ClaimIn, idempotency_key: str | None = Header(default=None, max_length=200)) -> dict[str, str]:
        wf_id = idempotency_key or uuid.uuid4().hex
        body = claim.model_dump()
        if not durable:
            with memory_lock:
                if wf_id not in memory:
                    memory[wf_id] = flow.MemoryRunner(wf_id)
                    memory[wf_id].start(body)
            return {"workflow_id": wf_id}
        with SetWorkflowID(wf_id):
            handle = DBOS.start_workflow(registered["workflow"], body)
        return {"workflow_id": handle.get_workflow_id()}

    @app.get("/claims/{workflow_id}", responses={404: {"model": ErrorDetail, "description": "unknown workflow"}})
    def status(workflow_id: str) -> dict[str, Any]:
        if not durable:
            run = memory.get(workflow_id)
            if run is None:
                raise HTTPException(404, f"unknown workflow {workflow_id}")
            return {"workflow_id": workflow_id, "state": run.state, "stage": run.current, "steps": run.steps,
                    "result": run.result, "error": run.error}
        st = DBOS.get_workflow_status(workflow_id)
        if st is None:
            raise HTTPException(404, f"unknown workflow {workflow_id}")
        steps = [{"name": s["function_name"], "output": s.get("output"),
                  "error": str(s["error"]) if s.get("error") is not None else None}
                 for s in DBOS.list_workflow_steps(workflow_id)
                 if s["function_name"] in flow.STEP_FUNCTIONS]
        stage = DBOS.get_event(workflow_id, "stage", timeout_seconds=0)
        return {"workflow_id": workflow_id, "state": st.status, "stage": stage, "steps": steps,
                "result": st.output, "error": str(st.error) if st.error is not None else None,
                "recovery_attempts": st.recovery_attempts}

    return app


def main() -> None:
    parser = agent_arg_parser("sandbox orchestrator (FastAPI + DBOS)")
    parser.add_argument("--config", type=Path, required=True, help="orchestrator.json written by Sandbox")
    args = parser.parse_args()
    cfg = OrchestratorConfig.model_validate_json(args.config.read_text())
    serve(create_app(cfg), args.host, args.port)


if __name__ == "__main__":
    main()
