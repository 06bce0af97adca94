"""``Sandbox``: bring the whole staging orchestration up and down, and describe it.

``up()`` picks free loopback ports, writes ``orchestrator.json``, starts the five agents,
the orchestrator and (if available) the embedded proxy as supervised processes, waits for
their health checks, puts one proxy per orchestrator -> agent edge in place, and writes a
``system.yaml`` that points the harness at all of it. Everything lives in ``state_dir``:
``state.json``, ``logs/``, ``traces.jsonl``, ``audit.jsonl``, ``dbos.sqlite``, the payout
ledger and what the notify vendor received.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from harness.errors import ConfigError
from harness.model.system import (
    AuditSource,
    Edge,
    Policies,
    ProxySpec,
    Safety,
    Service,
    SideEffect,
    StartSpec,
    SystemSpec,
    TraceSource,
    WorkflowApi,
)
from harness.sandbox.config import AGENTS, PROTOCOLS, OrchestratorConfig, Resilience, check_defects
from harness.sandbox.policy import policy_files
from harness.system.ports import free_ports
from harness.system.supervisor import ProcessError, ProcessSpec, Supervisor

HOST = "127.0.0.1"
PROXY_MODULE = "harness.proxy"

#: a claim body for system.yaml's workflow API ({n}/{uuid} are filled per submission)
CLAIM_TEMPLATE: dict[str, object] = {
    "claim_id": "C-{n}-{uuid}", "amount": 120.0, "description": "cracked phone screen",
    "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "iban": "DE89370400440532013000"},
}


def proxy_available() -> bool:
    """Is the fault layer's proxy server in this installation?"""
    try:
        return importlib.util.find_spec(f"{PROXY_MODULE}.__main__") is not None
    except ImportError:
        return False


#: what the sandbox's processes import beyond harness itself: the ``sandbox`` extra of pyproject.toml
EXTRA_MODULES = ("dbos", "fastapi")


def check_extra_installed() -> None:
    """``ConfigError`` (exit 2) naming the fix when the ``sandbox`` extra is missing, before anything
    starts (otherwise the orchestrator would die at startup and the error be a health timeout)."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise ConfigError(f"the embedded sandbox needs {' and '.join(missing)}, which are not installed: "
                          "install harness[sandbox] (pip install 'harness[sandbox]')")


class Sandbox:
    """The sandbox as a context manager: ``with Sandbox(tmp) as sb: sb.urls["orchestrator"]``."""

    def __init__(self, state_dir: Path | str, defects: Sequence[str] = (), with_proxy: bool = True,
                 resilience: Resilience | dict[str, Any] | None = None, otlp_endpoint: str | None = None,
                 ready_timeout_s: float = 90.0, detached: bool = False) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.defects = check_defects(defects)
        self.with_proxy = with_proxy and proxy_available()
        self.resilience = (resilience if isinstance(resilience, Resilience)
                           else Resilience.model_validate(resilience or {}))
        self.otlp_endpoint = otlp_endpoint
        self.ready_timeout_s = ready_timeout_s
        self.detached = detached  # True: processes outlive this Python process (the CLI)
        self.supervisor = Supervisor(self.state_dir)
        self.urls: dict[str, str] = {}
        self.edges: dict[str, dict[str, str]] = {}  # callee -> {listen, upstream}
        self.proxy_api_url: str | None = None

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def attach(cls, state_dir: Path | str) -> Sandbox:
        """The sandbox a previous process started in ``state_dir`` (for status/down)."""
        sb = cls(state_dir, with_proxy=False)
        sb.supervisor = Supervisor.load(sb.state_dir)
        meta = sb.supervisor.meta
        sb.defects = list(meta.get("defects", []))
        sb.urls = dict(meta.get("urls", {}))
        sb.edges = dict(meta.get("edges", {}))
        sb.proxy_api_url = meta.get("proxy_api_url")
        sb.with_proxy = sb.proxy_api_url is not None
        return sb

    def running(self) -> list[str]:
        return [n for n in self.supervisor.names() if self.supervisor.is_running(n)]

    def up(self) -> Sandbox:
        """Start everything and wait until it is healthy. On failure, stop what started."""
        check_extra_installed()
        previous = Supervisor.load(self.state_dir)
        alive = [n for n in previous.names() if previous.is_running(n)]
        if alive:
            raise ConfigError(f"a sandbox is already up in {self.state_dir} ({', '.join(alive)}); "
                              "run 'harness sandbox down' first", path=str(self.state_dir / "state.json"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._clear_previous_run()
        for attempt in (1, 2):
            try:
                self._start()
                return self
            except ProcessError as exc:
                self.supervisor.stop_all(grace_s=1.0)
                # free_ports() is racy by nature: another test may grab a port first. Retry once.
                if attempt == 2 or "address already in use" not in str(exc).lower():
                    raise
            except BaseException:
                self.supervisor.stop_all(grace_s=1.0)
                raise
        return self

    def _clear_previous_run(self) -> None:
        """Each ``up`` starts clean: an old DBOS database would resume old claims against the
        new agents, and an old ledger would make integrity checks see phantom payouts."""
        for pattern in ("dbos.sqlite*", "traces.jsonl", "audit.jsonl", "payout_ledger.jsonl",
                        "notify_received.jsonl", "logs/*.log"):
            for path in self.state_dir.glob(pattern):
                path.unlink()

    def down(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL) and forget them."""
        self.supervisor.stop_all()

    def __enter__(self) -> Sandbox:
        return self.up()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.down()

    def _start(self) -> None:
        n_ports = 1 + len(AGENTS) + (1 + len(AGENTS) if self.with_proxy else 0)
        ports = free_ports(n_ports)
        port = {"orchestrator": ports[0], **{a: ports[1 + i] for i, a in enumerate(AGENTS)}}
        self.urls = {name: f"http://{HOST}:{p}" for name, p in port.items()}
        targets = dict(self.urls)
        if self.with_proxy:
            api_port = ports[1 + len(AGENTS)]
            self.proxy_api_url = f"http://{HOST}:{api_port}"
            for i, agent in enumerate(AGENTS):
                listen = f"{HOST}:{ports[2 + len(AGENTS) + i]}"
                self.edges[agent] = {"listen": listen, "upstream": f"{HOST}:{port[agent]}"}
                targets[agent] = f"http://{listen}"
        else:
            self.edges = {a: {"upstream": f"{HOST}:{port[a]}"} for a in AGENTS}
        cfg = OrchestratorConfig(state_dir=self.state_dir, agents={a: targets[a] for a in AGENTS},
                                 defects=self.defects, resilience=self.resilience, otlp_endpoint=self.otlp_endpoint)
        self.config_path.write_text(cfg.model_dump_json(indent=2))

        specs = [self._spec(a, port[a]) for a in AGENTS]
        specs.append(self._spec("orchestrator", port["orchestrator"], "--config", str(self.config_path)))
        if self.with_proxy:
            assert self.proxy_api_url is not None
            specs.append(ProcessSpec(
                name="proxy", argv=[sys.executable, "-m", PROXY_MODULE, "--host", HOST, "--port", str(api_port)],
                health_url=f"{self.proxy_api_url}/version", url=self.proxy_api_url, port=api_port,
                ready_timeout_s=self.ready_timeout_s, detached=self.detached))
        self.supervisor.start_many(specs)
        if self.with_proxy:
            self._populate_proxy()
        self.supervisor.meta = {"defects": self.defects, "urls": self.urls, "edges": self.edges,
                                "proxy_api_url": self.proxy_api_url, "system_yaml": str(self.system_yaml_path)}
        self.supervisor.save()
        self.write_system_yaml()

    def _spec(self, name: str, port: int, *extra: str) -> ProcessSpec:
        argv = [sys.executable, "-m", f"harness.sandbox.{name}", "--host", HOST, "--port", str(port),
                "--state-dir", str(self.state_dir), *extra]
        for d in self.defects:
            argv += ["--defect", d]
        return ProcessSpec(name=name, argv=argv, health_url=f"http://{HOST}:{port}/healthz",
                           url=f"http://{HOST}:{port}", port=port, ready_timeout_s=self.ready_timeout_s,
                           detached=self.detached)

    def _populate_proxy(self) -> None:
        # "http": true (harness extension) relays every connection as HTTP, so HTTP toxics added
        # mid-run reach the orchestrator's pooled keep-alive connections too.
        body = [{"name": a, "listen": e["listen"], "upstream": e["upstream"], "enabled": True, "http": True}
                for a, e in self.edges.items()]
        try:
            resp = httpx.post(f"{self.proxy_api_url}/populate", json=body, timeout=10, trust_env=False)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise ProcessError(f"could not populate the proxy at {self.proxy_api_url}: {exc}") from exc

    # ------------------------------------------------------------ description

    @property
    def config_path(self) -> Path:
        return self.state_dir / "orchestrator.json"

    @property
    def system_yaml_path(self) -> Path:
        return self.state_dir / "system.yaml"

    def system_spec(self) -> SystemSpec:
        """This sandbox as a harness ``system.yaml`` model."""
        sup = self.supervisor
        services = []
        for name in ("orchestrator", *AGENTS):
            spec = sup.spec(name)
            rest = name == "orchestrator" or PROTOCOLS[name] == "rest"
            services.append(Service(
                name=name, kind="orchestrator" if name == "orchestrator" else "agent",
                protocol="rest" if name == "orchestrator" else PROTOCOLS[name],  # type: ignore[arg-type]
                base_url=self.urls[name], health_url=spec.health_url,
                openapi_url=f"{self.urls[name]}/openapi.json" if rest else None,
                start=StartSpec(command=spec.argv, ready_timeout_s=spec.ready_timeout_s)))
        edges = [Edge(caller="orchestrator", callee=a, proxy=a if self.with_proxy else None,
                      listen=self.edges[a].get("listen"), upstream=self.edges[a]["upstream"]) for a in AGENTS]
        orch = self.urls["orchestrator"]
        return SystemSpec(
            name="sandbox",
            description="harness sandbox: claims approval orchestration (DBOS) with five agents"
                        + (f"; seeded defects: {', '.join(self.defects)}" if self.defects else ""),
            safety=Safety(environment="sandbox", allow_targets=[]),
            proxy=ProxySpec(api_url=self.proxy_api_url or "http://127.0.0.1:8474", embedded=True),
            services=services, edges=edges,
            workflow=WorkflowApi(submit_url=f"{orch}/claims", body=dict(CLAIM_TEMPLATE),
                                 idempotency_header="Idempotency-Key", id_pointer="/workflow_id",
                                 status_url=f"{orch}/claims/{{id}}", state_pointer="/state",
                                 done_states=["SUCCESS"], failed_states=["ERROR", "CANCELLED"]),
            traces=TraceSource(jsonl=str(self.state_dir / "traces.jsonl"), otlp_endpoint=self.otlp_endpoint),
            audit=AuditSource(jsonl=str(self.state_dir / "audit.jsonl")),
            policies=Policies(files=[str(p) for p in policy_files()]),
            # a payout moves money: once per claim, whatever the retries (integrity's duplicates)
            side_effects=[SideEffect(audit_event="payout_issued", key="/claim_id")],
        )

    def write_system_yaml(self) -> Path:
        from ruamel.yaml import YAML

        data = json.loads(self.system_spec().model_dump_json(exclude_none=True))
        yaml = YAML()
        yaml.default_flow_style = False
        with self.system_yaml_path.open("w") as fh:
            fh.write("# generated by harness sandbox up; do not edit (rewritten on every start)\n")
            yaml.dump(data, fh)
        return self.system_yaml_path
