"""A2A 1.0 contract checks against a live agent: its card, and generated JSON-RPC calls.

What is checked (each a named check in the ContractResult):

- ``document``: ``GET /.well-known/agent-card.json`` answers 200 JSON (else the one
  failure says why: unreachable, an HTTP error, not JSON; nothing else is checked).
- ``card.shape``: the A2A 1.0 card shape: ``name``, ``version``, ``description``,
  ``supportedInterfaces[]`` (each with ``url``, ``protocolBinding``, ``protocolVersion``),
  ``capabilities``, ``skills[]`` (``id``, ``name``, ``description``, ``tags``), a
  ``protocolVersion`` of ``1.0`` on some interface, and a strict protobuf parse (an
  unknown field such as 0.3's top-level ``url`` is named).
- ``SendMessage`` / ``GetTask`` with hypothesis-generated inputs (header ``A2A-Version:
  1.0``): well-formed JSON-RPC 2.0, ``result`` is a ``message`` or a ``task``, legal
  ``TASK_STATE_*`` states, the task is retrievable, and any ``data`` part of a completed
  task's artifacts matches the output schema the card declares for the skill.
- Error paths: unknown method, malformed params, an unknown task id and schema-violating
  data must come back as JSON-RPC errors (or a failed task), never a 5xx or a crash.

A card declares skill schemas through a card extension (A2A 1.0 cards have no schema
field): a ``capabilities.extensions[]`` entry whose ``params`` hold ``output_schema`` /
``input_schema`` (for every skill) or ``skills: {id: {"input": ..., "output": ...}}``.
Without an input schema, JSON-object skill ``examples`` are sent as data parts (plus
values generated from their inferred shape), else generated text.

A self-consistent drift (result *and* card renamed together) passes all of the above;
it is caught by comparing the live card with a **baseline** card (the contract snapshot
in ``contracts/``): every breaking change (removed field, removed skill, ...) fails
``card.compat`` and is listed in ``breaking_changes``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
from hypothesis import strategies as st

from harness.contracts._schema import draw, invalid_variants, jsonrpc_problem, samples, violations
from harness.contracts.compat import Change
from harness.contracts.deploy import _check_a2a
from harness.contracts.diff import diff_cards
from harness.contracts.protocol import ContractProtocol, InteractionCheck
from harness.contracts.results import Tally, reason
from harness.model.scorecard import ContractResult
from harness.model.system import Service

SKILL_SCHEMA_EXTENSION = "https://harness.dev/a2a/ext/skill-schema/v1"
CARD_PATH = "/.well-known/agent-card.json"
HEADERS = {"A2A-Version": "1.0", "Content-Type": "application/json"}
LEGAL_STATES = frozenset({
    "TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED", "TASK_STATE_FAILED",
    "TASK_STATE_CANCELED", "TASK_STATE_INPUT_REQUIRED", "TASK_STATE_REJECTED", "TASK_STATE_AUTH_REQUIRED",
})


def fetch_card(base_url: str, *, client: httpx.Client | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """GET the agent card JSON (raises httpx errors / ValueError on non-JSON)."""
    own = client is None
    c = client or httpx.Client(timeout=timeout, trust_env=False)
    try:
        resp = c.get(base_url.rstrip("/") + CARD_PATH)
        resp.raise_for_status()
        card = resp.json()
    finally:
        if own:
            c.close()
    if not isinstance(card, dict):
        raise ValueError("agent card is not a JSON object")
    return card


def card_problems(card: dict[str, Any]) -> list[str]:
    """Every way ``card`` departs from the A2A 1.0 AgentCard shape (empty = valid)."""
    from a2a.types import AgentCard
    from google.protobuf import json_format

    problems: list[str] = []
    try:
        json_format.ParseDict(card, AgentCard())
    except json_format.ParseError as exc:
        problems.append(f"$: not an A2A 1.0 AgentCard: {exc}")
    for key in ("name", "version", "description"):
        if not isinstance(card.get(key), str) or not card.get(key):
            problems.append(f"$.{key}: required non-empty string, got {card.get(key)!r}")
    ifaces = card.get("supportedInterfaces")
    if not isinstance(ifaces, list) or not ifaces:
        problems.append("$.supportedInterfaces: required non-empty list (A2A 1.0 has no top-level url)")
        ifaces = []
    for i, iface in enumerate(ifaces):
        iface = iface if isinstance(iface, dict) else {}
        url = str(iface.get("url", ""))
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            problems.append(f"$.supportedInterfaces[{i}].url: absolute http(s) URL required, got {url!r}")
        for key in ("protocolBinding", "protocolVersion"):
            if not iface.get(key):
                problems.append(f"$.supportedInterfaces[{i}].{key}: required")
    if ifaces and not any(isinstance(i, dict) and i.get("protocolVersion") == "1.0" for i in ifaces):
        versions = [i.get("protocolVersion") for i in ifaces if isinstance(i, dict)]
        problems.append(f"$.supportedInterfaces[*].protocolVersion: no interface speaks 1.0 (got {versions})")
    if not isinstance(card.get("capabilities"), dict):
        problems.append("$.capabilities: required object")
    skills = card.get("skills")
    if not isinstance(skills, list) or not skills:
        problems.append("$.skills: required non-empty list")
        skills = []
    for i, skill in enumerate(skills):
        skill = skill if isinstance(skill, dict) else {}
        for key in ("id", "name", "description"):
            if not skill.get(key):
                problems.append(f"$.skills[{i}].{key}: required")
        if not isinstance(skill.get("tags"), list) or not skill.get("tags"):
            problems.append(f"$.skills[{i}].tags: required non-empty list")
    return problems


def skill_schemas(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{skill_id: {"input": schema?, "output": schema?}}`` declared by a card extension."""
    from harness.contracts.diff import card_schemas

    return card_schemas(card)


def rpc_url(base_url: str, card: dict[str, Any]) -> str:
    """Where to POST JSON-RPC: the JSONRPC interface's path, on the host we were told to test.

    We keep our host:port (the system may route through a proxy, or the card may name an
    address only reachable from inside) but honour the path the card advertises.
    """
    for iface in card.get("supportedInterfaces") or []:
        if isinstance(iface, dict) and str(iface.get("protocolBinding", "")).upper() == "JSONRPC":
            path = urlsplit(str(iface.get("url", ""))).path or "/"
            return base_url.rstrip("/") + path
    return base_url.rstrip("/") + "/"


class _Caller:
    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client, self.url, self.n = client, url, 0

    def call(self, method: str, params: Any) -> tuple[int, Any, str]:
        """POST one JSON-RPC request; returns (http status, parsed body or None, request JSON)."""
        self.n += 1
        payload = {"jsonrpc": "2.0", "id": self.n, "method": method, "params": params}
        text = json.dumps(payload)
        resp = self.client.post(self.url, content=text, headers=HEADERS)
        try:
            body = resp.json()
        except ValueError:
            body = None
        return resp.status_code, body, text


def _json_examples(skill: Any) -> list[dict[str, Any]]:
    """The skill's examples that are JSON objects (A2A examples are free text)."""
    out = []
    for ex in skill.get("examples") or [] if isinstance(skill, dict) else []:
        try:
            value = json.loads(ex)
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _message(part: dict[str, Any]) -> dict[str, Any]:
    return {"message": {"messageId": str(uuid4()), "role": "ROLE_USER", "parts": [part]}}


def check_agent(base_url: str, *, edge: str = "", baseline: dict[str, Any] | None = None, examples: int = 8,
                seed: int = 0, timeout: float = 15.0, service: str = "") -> ContractResult:
    """Run every A2A check against the agent at ``base_url``; never raises for agent faults.

    ``baseline``: a previously accepted card; breaking changes against it fail the run.
    ``service`` names the agent in the failure when its card cannot be fetched.
    """
    tally = Tally("a2a", edge or base_url)
    url = base_url.rstrip("/") + CARD_PATH
    who = f"{service}: " if service else ""
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        try:
            card = fetch_card(base_url, client=client)
        except httpx.HTTPStatusError as exc:
            tally.fail("document", f"{who}A2A agent card {url} answered HTTP {exc.response.status_code}")
            return tally.result()
        except httpx.HTTPError as exc:
            tally.fail("document", f"{who}A2A agent card {url} unreachable: {reason(exc)}")
            return tally.result()
        except ValueError as exc:
            tally.fail("document", f"{who}A2A agent card {url} is not a JSON object: {exc}")
            return tally.result()
        tally.ok("document")
        problems = card_problems(card)
        tally.check("card.shape", not problems, "; ".join(problems))
        if baseline is not None:
            breaking = [str(c) for c in diff_cards(baseline, card) if c.breaking]
            for change in breaking:
                tally.fail("card.compat", f"breaking change against the baseline card: {change}")
            tally.breaking_changes.extend(breaking)
            if not breaking:
                tally.ok("card.compat")
        caller = _Caller(client, rpc_url(base_url, card))
        schemas = skill_schemas(card)
        try:
            _check_calls(caller, card, schemas, tally, examples, seed)
        except httpx.HTTPError as exc:
            tally.fail("transport", f"{caller.url}: {type(exc).__name__}: {exc}")
    return tally.result()


def _check_calls(caller: _Caller, card: dict[str, Any], schemas: dict[str, dict[str, Any]],
                 tally: Tally, examples: int, seed: int) -> None:
    plans: list[tuple[str, dict[str, Any] | None, list[dict[str, Any]]]] = []
    for skill in card.get("skills") or [{}]:
        sid = str(skill.get("id", "")) if isinstance(skill, dict) else ""
        decl = schemas.get(sid, {})
        shown = _json_examples(skill)
        if "input" in decl:
            parts = [{"data": d} for d in samples(decl["input"], examples, seed)]
        elif shown:
            from harness.contracts.diff import infer_schema

            generated = samples(infer_schema(shown[0]), max(examples - len(shown), 0), seed)
            parts = [{"data": d} for d in shown + generated]
        else:
            texts = draw(st.text(min_size=1, max_size=40).filter(str.strip), examples, seed)
            parts = [{"text": t} for t in texts]
        plans.append((sid, decl.get("output"), parts))

    for sid, output, parts in plans:
        strict = "input" in schemas.get(sid, {})
        for part in parts:
            _send_and_get(caller, sid, part, output, tally, strict_input=strict)
        decl = schemas.get(sid, {})
        for label, bad in invalid_variants(decl["input"]) if "input" in decl else []:
            _expect_clean_rejection(caller, f"SendMessage[{sid}] invalid input ({label})",
                                    "SendMessage", _message({"data": bad}), tally, allow_task=True)

    _expect_clean_rejection(caller, "GetTask unknown id", "GetTask", {"id": f"no-such-task-{uuid4()}"}, tally)
    _expect_clean_rejection(caller, "unknown method", "NoSuchMethod", {}, tally, code=-32601)
    _expect_clean_rejection(caller, "SendMessage malformed params", "SendMessage", {"message": "oops"}, tally)


def _send_and_get(caller: _Caller, sid: str, part: dict[str, Any], output: dict[str, Any] | None,
                  tally: Tally, *, strict_input: bool) -> None:
    from a2a.types import SendMessageResponse, Task
    from google.protobuf import json_format

    name = f"SendMessage[{sid}]" if sid else "SendMessage"
    status, body, req = caller.call("SendMessage", _message(part))
    repro = f"(request: {req[:300]})"
    if not tally.check(f"{name} http", status == 200, f"HTTP {status}, expected 200 {repro}"):
        return
    problem = jsonrpc_problem(body, caller.n)
    if not tally.check(f"{name} jsonrpc", problem is None, f"{problem} {repro}"):
        return
    if "error" in body:
        tally.check(f"{name} accepted", not strict_input,
                    f"valid input rejected with JSON-RPC error {body['error']} {repro}")
        return
    result = body["result"]
    kinds = [k for k in ("message", "task") if isinstance(result, dict) and k in result]
    if not tally.check(f"{name} result", len(kinds) == 1,
                       f"$.result must hold exactly one of message/task, got keys "
                       f"{sorted(result) if isinstance(result, dict) else result!r} {repro}"):
        return
    try:
        json_format.ParseDict(result, SendMessageResponse())
        tally.ok(f"{name} result.strict")
    except json_format.ParseError as exc:
        tally.fail(f"{name} result.strict", f"$.result: {exc} {repro}")
    if kinds[0] == "message":
        return
    task = result["task"]
    state = (task.get("status") or {}).get("state")
    tally.check(f"{name} task.state", state in LEGAL_STATES,
                f"$.result.task.status.state: {state!r} is not a legal TASK_STATE_* {repro}")
    if output is not None and state == "TASK_STATE_COMPLETED":
        _check_output(name, task, "$.result.task", output, tally, repro)
    task_id = task.get("id")
    if not tally.check(f"{name} task.id", isinstance(task_id, str) and bool(task_id),
                       f"$.result.task.id: missing {repro}"):
        return
    status, body, req = caller.call("GetTask", {"id": task_id})
    if not tally.check("GetTask http", status == 200, f"HTTP {status}, expected 200 (request: {req})"):
        return
    problem = jsonrpc_problem(body, caller.n)
    if not tally.check("GetTask jsonrpc", problem is None, f"{problem} (request: {req})"):
        return
    got = body.get("result")
    ok = isinstance(got, dict) and got.get("id") == task_id
    if not tally.check("GetTask task", ok, f"$.result: expected the task {task_id}, got {str(body)[:200]}"):
        return
    try:
        json_format.ParseDict(got, Task())
        tally.ok("GetTask result.strict")
    except json_format.ParseError as exc:
        tally.fail("GetTask result.strict", f"$.result: {exc}")
    state = (got.get("status") or {}).get("state")
    tally.check("GetTask task.state", state in LEGAL_STATES,
                f"$.result.status.state: {state!r} is not a legal TASK_STATE_*")


def _check_output(name: str, task: dict[str, Any], where: str, output: dict[str, Any], tally: Tally,
                  repro: str) -> None:
    found = False
    for i, art in enumerate(task.get("artifacts") or []):
        for j, part in enumerate((art or {}).get("parts") or []):
            if isinstance(part, dict) and "data" in part:
                found = True
                errs = violations(part["data"], output, f"{where}.artifacts[{i}].parts[{j}].data")
                tally.check(f"{name} output.schema", not errs, "; ".join(errs) + f" {repro}")
    tally.check(f"{name} output.present", found,
                f"{where}.artifacts: no data part, but the card declares an output schema {repro}")


def _expect_clean_rejection(caller: _Caller, name: str, method: str, params: Any, tally: Tally, *,
                            code: int | None = None, allow_task: bool = False) -> None:
    status, body, req = caller.call(method, params)
    if not tally.check(f"{name} no 5xx", status < 500, f"HTTP {status} (request: {req[:300]})"):
        return
    problem = jsonrpc_problem(body, caller.n)
    if not tally.check(f"{name} jsonrpc", problem is None, f"{problem} (request: {req[:300]})"):
        return
    if "error" in body:
        if code is not None:
            tally.check(f"{name} code", body["error"]["code"] == code,
                        f"$.error.code: expected {code}, got {body['error']['code']}")
        else:
            tally.ok(f"{name} error")
        return
    result = body.get("result")
    state = ((result or {}).get("task") or {}).get("status", {}).get("state") if isinstance(result, dict) else None
    tally.check(f"{name} error", allow_task and state in LEGAL_STATES,
                f"expected a JSON-RPC error, got result {str(result)[:200]} (request: {req[:300]})")


class A2aProtocol(ContractProtocol):
    """A2A 1.0 agents: agent card shape, generated SendMessage/GetTask calls, card diff."""

    name = "a2a"
    summary = "A2A 1.0: agent card shape, generated SendMessage/GetTask calls, result schemas."
    speaks = ("a2a",)
    needs = "a service with protocol a2a"
    contract = "A2A agent card"
    baseline = ("a2a", "card.json")

    def check_endpoint(self, url: str, *, baseline: Any, examples: int, seed: int, edge: str = "",
                       service: str = "") -> ContractResult:
        return check_agent(url, edge=edge, baseline=baseline, examples=examples, seed=seed, service=service)

    def contract_url(self, service: Service) -> str:
        return service.base_url.rstrip("/") + CARD_PATH

    def fetch(self, service: Service, client: httpx.Client, timeout: float) -> Any:
        return fetch_card(service.base_url, client=client, timeout=timeout)

    def detect(self, doc: Any) -> bool:
        return isinstance(doc, dict) and "skills" in doc and ("supportedInterfaces" in doc or "url" in doc
                                                              or "name" in doc)

    def diff(self, old: Any, new: Any) -> list[Change]:
        return diff_cards(old, new)

    def interaction_check(self, new_doc: Any) -> InteractionCheck:
        return lambda where, req, resp: _check_a2a(new_doc, where, req, resp)
