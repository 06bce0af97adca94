"""Workflow engines: "submit one unit of work, then poll it" (``system.yaml: workflow``).

``WorkflowEngine`` is what probes and the end-of-scenario accounting use; ``WORKFLOW_ENGINES``
maps ``workflow.engine`` to a factory, so another engine (e.g. Temporal) is one module and
one registration. ``http`` (the default) is ``WorkflowClient``: an HTTP submit and status URL.

Used by workflow probes and by the end-of-scenario accounting that matches every
submitted workflow to an outcome. Templates: in the body, ``{n}`` becomes a counter
and ``{uuid}`` a fresh UUID, so every submission is a distinct work item; ``{run_id}``
is the harness run's id (docs/system.md lists them). This counter
runs from 1 and stays below the blocks the load generators use (harness.load.runner
``N_BLOCK``), so a probe's ``{n}`` never equals a load request's.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any, Literal, Protocol

import httpx

from harness.errors import ConfigError
from harness.jsontools import render_template, resolve_pointer
from harness.model.system import WorkflowApi

Outcome = Literal["done", "failed", "pending"]


class WorkflowEngine(Protocol):
    """Submit work and read its state; errors while talking to the system are ``httpx.HTTPError``."""

    def submit(self, body: dict[str, Any] | None = None) -> tuple[str, str]:
        """Submit one work item; return ``(workflow_id, idempotency_key)``."""
        ...

    def state(self, workflow_id: str) -> str:
        """The engine's state string, ``UNKNOWN`` if it has no record of the workflow."""
        ...

    def is_done(self, state: str) -> bool: ...

    def is_failed(self, state: str) -> bool: ...

    def close(self) -> None: ...


def outcome(engine: WorkflowEngine, state: str) -> Outcome:
    """What a state means for the run: finished, failed, or not settled yet."""
    if engine.is_done(state):
        return "done"
    return "failed" if engine.is_failed(state) else "pending"

_counter = itertools.count(1)


class WorkflowClient:
    """Submit and poll workflows of one system. Thread-safe (httpx.Client is)."""

    def __init__(self, api: WorkflowApi, *, timeout_s: float = 5.0, run_id: str = "") -> None:
        self.api = api
        self.run_id = run_id
        self._client = httpx.Client(timeout=timeout_s, trust_env=False)

    def submit(self, body: dict[str, Any] | None = None) -> tuple[str, str]:
        """Submit one work item; return ``(workflow_id, idempotency_key)``. Raises httpx errors."""
        n, token = next(_counter), uuid.uuid4().hex
        payload = render_template(body if body is not None else self.api.body, n, token, self.run_id)
        headers = {}
        key = f"harness-{token}"
        if self.api.idempotency_header:
            headers[self.api.idempotency_header] = key
        resp = self._client.request(self.api.submit_method, self.api.submit_url, json=payload, headers=headers)
        resp.raise_for_status()
        wf_id = resolve_pointer(resp.json(), self.api.id_pointer)
        if wf_id is None:
            raise ValueError(f"submit response has no {self.api.id_pointer!r}: {resp.text[:200]}")
        return str(wf_id), key

    def state(self, workflow_id: str) -> str:
        """Current state string, ``UNKNOWN`` if the system has no record (404)."""
        resp = self._client.get(self.api.status_url.replace("{id}", workflow_id))
        if resp.status_code == 404:
            return "UNKNOWN"
        resp.raise_for_status()
        return str(resolve_pointer(resp.json(), self.api.state_pointer, "UNKNOWN"))

    def is_done(self, state: str) -> bool:
        return state in self.api.done_states

    def is_failed(self, state: str) -> bool:
        return state in self.api.failed_states

    def close(self) -> None:
        self._client.close()


EngineFactory = Callable[..., WorkflowEngine]
#: ``system.yaml: workflow.engine`` -> factory ``(api, *, run_id) -> WorkflowEngine``
WORKFLOW_ENGINES: dict[str, EngineFactory] = {"http": WorkflowClient}


def open_workflow(api: WorkflowApi, *, run_id: str = "") -> WorkflowEngine:
    """The engine ``api.engine`` names; ``ConfigError`` (field ``workflow.engine``) for an unknown one."""
    factory = WORKFLOW_ENGINES.get(api.engine)
    if factory is None:
        raise ConfigError(f"unknown workflow engine {api.engine!r}; known: {', '.join(sorted(WORKFLOW_ENGINES))}",
                          field="workflow.engine")
    return factory(api, run_id=run_id)
