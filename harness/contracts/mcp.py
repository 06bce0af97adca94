"""MCP contract checks against a live streamable-HTTP server.

Raw JSON-RPC over httpx rather than the SDK client, on purpose: the SDK client validates
(and sometimes repairs) what it receives, and we want to see exactly what a server sends.
It works with both server modes: stateful (``initialize`` -> ``mcp-session-id`` header,
SSE bodies) and stateless JSON.

Checks (each named in the ContractResult):

- ``document``: fails (alone, with the reason) when the endpoint cannot be reached.
- ``initialize`` and ``tools/list`` are well-formed JSON-RPC 2.0; every tool parses as
  an MCP ``Tool`` and its ``inputSchema``/``outputSchema`` are valid JSON Schemas.
- Per tool, ``tools/call`` with inputs generated from ``inputSchema`` (hypothesis-
  jsonschema): a well-formed ``CallToolResult``; when not ``isError`` and the tool has an
  ``outputSchema``, ``structuredContent`` is present, validates, and matches the JSON text
  content it mirrors; ``isError`` results carry an explanatory text.
- Invalid inputs (missing required argument, wrong types) and an unknown tool are
  rejected cleanly: a JSON-RPC error or ``isError: true``, never HTTP 5xx or success.
- With a ``baseline`` tool list, breaking changes against it (removed tool, new required
  input, removed output field, ...) fail ``tools.compat``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.contracts._schema import invalid_variants, jsonrpc_problem, samples, schema_problem, violations
from harness.contracts.compat import Change
from harness.contracts.deploy import _check_mcp
from harness.contracts.diff import diff_tools, mcp_tools
from harness.contracts.protocol import ContractProtocol, InteractionCheck
from harness.contracts.results import Tally, reason
from harness.model.scorecard import ContractResult
from harness.model.system import Service

CLIENT_PROTOCOL = "2025-11-25"
ACCEPT = "application/json, text/event-stream"


class McpSession:
    """A minimal MCP client session over streamable HTTP (one JSON-RPC request per POST)."""

    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url, self.client, self.n = url, client, 0
        self.headers = {"Accept": ACCEPT, "Content-Type": "application/json"}

    def request(self, method: str, params: Any = None) -> tuple[int, Any, str]:
        """Send one request; returns (HTTP status, the JSON-RPC response or None, request text)."""
        self.n += 1
        payload: dict[str, Any] = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            payload["params"] = params
        text = json.dumps(payload)
        resp = self.client.post(self.url, content=text, headers=self.headers)
        return resp.status_code, _parse_body(resp, self.n), text

    def notify(self, method: str) -> int:
        resp = self.client.post(self.url, json={"jsonrpc": "2.0", "method": method}, headers=self.headers)
        return resp.status_code

    def initialize(self) -> tuple[int, Any]:
        status, body, _ = self.request("initialize", {
            "protocolVersion": CLIENT_PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "harness-contracts", "version": "1"}})
        if status == 200 and isinstance(body, dict) and isinstance(body.get("result"), dict):
            version = body["result"].get("protocolVersion")
            if isinstance(version, str):
                self.headers["mcp-protocol-version"] = version
            self.notify("notifications/initialized")
        return status, body

    def capture_session(self, resp_headers: httpx.Headers) -> None:
        sid = resp_headers.get("mcp-session-id")
        if sid:
            self.headers["mcp-session-id"] = sid


def _parse_body(resp: httpx.Response, request_id: int) -> Any:
    """JSON body, or the matching ``data:`` event of an SSE body."""
    ctype = resp.headers.get("content-type", "")
    if "text/event-stream" in ctype:
        found = None
        for line in resp.text.splitlines():
            if line.startswith("data:"):
                try:
                    event = json.loads(line[5:].strip())
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("id") == request_id:
                    found = event
        return found
    try:
        return resp.json()
    except ValueError:
        return None


class _Hooked(httpx.Client):
    """httpx client that remembers the MCP session id a server hands out."""

    session: McpSession | None = None

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        resp = super().send(request, **kwargs)
        if self.session is not None:
            self.session.capture_session(resp.headers)
        return resp


def list_tools(url: str, *, timeout: float = 15.0) -> list[dict[str, Any]]:
    """``tools/list`` of the server at ``url`` (raises on transport/protocol errors)."""
    with _Hooked(timeout=timeout, trust_env=False) as client:
        session = McpSession(url, client)
        client.session = session
        session.initialize()
        status, body, _ = session.request("tools/list", {})
        if status != 200 or not isinstance(body, dict) or "result" not in body:
            raise ValueError(f"tools/list failed: HTTP {status} {str(body)[:200]}")
        return list(body["result"].get("tools") or [])


def check_server(url: str, *, edge: str = "", baseline: Any = None, examples: int = 8, seed: int = 0,
                 timeout: float = 15.0, service: str = "") -> ContractResult:
    """Run every MCP check against the streamable-HTTP endpoint ``url`` (e.g. ``.../mcp``).

    ``service`` names the server in the failures that stop the suite (endpoint
    unreachable, no tool list), so the one console line says whose contract is missing.
    """
    tally = Tally("mcp", edge or url)
    who = f"{service}: " if service else ""
    with _Hooked(timeout=timeout, trust_env=False) as client:
        session = McpSession(url, client)
        client.session = session
        try:
            _run(session, tally, baseline, examples, seed, who)
        except httpx.HTTPError as exc:
            if tally.passed == 0 and tally.failed == 0:
                tally.fail("document", f"{who}MCP endpoint {url} unreachable: {reason(exc)}")
            else:
                tally.fail("transport", f"{who}{url}: {reason(exc)}")
    return tally.result()


def _run(session: McpSession, tally: Tally, baseline: Any, examples: int, seed: int, who: str = "") -> None:
    import mcp.types as mt
    from pydantic import ValidationError

    status, body = session.initialize()
    problem = jsonrpc_problem(body, session.n) if status == 200 else f"HTTP {status}"
    if not tally.check("initialize", problem is None and "result" in body,
                       f"{who}MCP initialize at {session.url}: {problem or body}"):
        return
    status, body, _ = session.request("tools/list", {})
    problem = jsonrpc_problem(body, session.n) if status == 200 else f"HTTP {status}"
    if not tally.check("tools/list", problem is None and "result" in body,
                       f"{who}MCP tools/list at {session.url}: {problem or body}"):
        return
    tools = body["result"].get("tools")
    if not tally.check("tools/list shape", isinstance(tools, list), "$.result.tools: expected a list"):
        return
    if baseline is not None:
        from harness.contracts.diff import diff_tools

        breaking = [str(c) for c in diff_tools(baseline, {"tools": tools}) if c.breaking]
        for change in breaking:
            tally.fail("tools.compat", f"breaking change against the baseline tool list: {change}")
        tally.breaking_changes.extend(breaking)
        if not breaking:
            tally.ok("tools.compat")
    for i, tool in enumerate(tools):
        name = tool.get("name", f"#{i}") if isinstance(tool, dict) else f"#{i}"
        try:
            mt.Tool.model_validate(tool)
            tally.ok(f"tool[{name}] shape")
        except ValidationError as exc:
            tally.fail(f"tool[{name}] shape", f"$.result.tools[{i}]: {_first_error(exc)}")
            continue
        in_problem = schema_problem(tool.get("inputSchema"))
        if not tally.check(f"tool[{name}] inputSchema", in_problem is None,
                           f"$.result.tools[{i}].inputSchema: {in_problem}"):
            continue
        output = tool.get("outputSchema")
        if output is not None:
            out_problem = schema_problem(output)
            if not tally.check(f"tool[{name}] outputSchema", out_problem is None,
                               f"$.result.tools[{i}].outputSchema: {out_problem}"):
                output = None
        for args in samples(tool["inputSchema"], examples, seed):
            _call(session, name, args, output, tally)
        for label, bad in invalid_variants(tool["inputSchema"]):
            _expect_rejection(session, f"tools/call[{name}] invalid ({label})", name, bad, tally)
    _expect_rejection(session, "tools/call unknown tool", "no-such-tool-xyz", {}, tally)


def _first_error(exc: Any) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"


def _call(session: McpSession, name: str, args: Any, output: dict[str, Any] | None, tally: Tally) -> None:
    import mcp.types as mt
    from pydantic import ValidationError

    check = f"tools/call[{name}]"
    status, body, req = session.request("tools/call", {"name": name, "arguments": args})
    repro = f"(request: {req[:300]})"
    if not tally.check(f"{check} http", status == 200, f"HTTP {status}, expected 200 {repro}"):
        return
    problem = jsonrpc_problem(body, session.n)
    if not tally.check(f"{check} jsonrpc", problem is None, f"{problem} {repro}"):
        return
    if not tally.check(f"{check} accepted", "result" in body,
                       f"valid arguments rejected with JSON-RPC error {body.get('error')} {repro}"):
        return
    result = body["result"]
    try:
        mt.CallToolResult.model_validate(result)
        tally.ok(f"{check} result.shape")
    except ValidationError as exc:
        tally.fail(f"{check} result.shape", f"$.result: {_first_error(exc)} {repro}")
        return
    if result.get("isError"):
        texts = [c.get("text") for c in result.get("content") or [] if c.get("type") == "text"]
        tally.check(f"{check} isError.text", any(texts), f"isError result without an explanatory text {repro}")
        return
    if output is None:
        return
    structured = result.get("structuredContent")
    if not tally.check(f"{check} structuredContent", isinstance(structured, dict),
                       f"$.result.structuredContent: missing, but the tool declares an outputSchema {repro}"):
        return
    errs = violations(structured, output, "$.result.structuredContent")
    tally.check(f"{check} outputSchema", not errs, "; ".join(errs) + f" {repro}")
    for j, item in enumerate(result.get("content") or []):
        if item.get("type") != "text":
            continue
        try:
            mirrored = json.loads(item.get("text", ""))
        except ValueError:
            continue
        if isinstance(mirrored, dict):
            diff = sorted(set(mirrored) ^ set(structured))
            tally.check(f"{check} content.mirror", not diff,
                        f"$.result.content[{j}].text and structuredContent disagree on fields {diff} {repro}")


def _expect_rejection(session: McpSession, check: str, name: str, args: Any, tally: Tally) -> None:
    status, body, req = session.request("tools/call", {"name": name, "arguments": args})
    repro = f"(request: {req[:300]})"
    if not tally.check(f"{check} no 5xx", status < 500, f"HTTP {status} {repro}"):
        return
    problem = jsonrpc_problem(body, session.n)
    if not tally.check(f"{check} jsonrpc", problem is None, f"{problem} {repro}"):
        return
    rejected = "error" in body or bool((body.get("result") or {}).get("isError"))
    tally.check(f"{check} rejected", rejected,
                f"invalid call succeeded: {str(body.get('result'))[:200]} {repro}")


def mcp_url(service: Service) -> str:
    """The MCP endpoint: ``base_url`` itself if it has a path, else ``base_url/mcp``."""
    path = urlsplit(service.base_url).path
    return service.base_url if path not in ("", "/") else service.base_url.rstrip("/") + "/mcp"


class McpProtocol(ContractProtocol):
    """MCP servers (streamable HTTP): tools/list, generated tools/call inputs, tool-list diff."""

    name = "mcp"
    summary = "MCP: tools/list, generated tools/call inputs, outputSchema, isError, invalid inputs."
    speaks = ("mcp",)
    needs = "a service with protocol mcp"
    contract = "MCP tool list"
    baseline = ("mcp", "tools.json")

    def check_endpoint(self, url: str, *, baseline: Any, examples: int, seed: int, edge: str = "",
                       service: str = "") -> ContractResult:
        return check_server(url, edge=edge, baseline=baseline, examples=examples, seed=seed, service=service)

    def endpoint(self, service: Service) -> str:
        return mcp_url(service)

    contract_url = endpoint

    def fetch(self, service: Service, client: httpx.Client, timeout: float) -> Any:
        _ = client  # an MCP session needs its own client (session headers on every request)
        return {"tools": list_tools(mcp_url(service), timeout=timeout)}

    def detect(self, doc: Any) -> bool:
        if isinstance(doc, dict):
            return isinstance(doc.get("tools"), list) or isinstance((doc.get("result") or {}).get("tools"), list)
        return isinstance(doc, list) and all(isinstance(t, dict) and "inputSchema" in t for t in doc)

    def diff(self, old: Any, new: Any) -> list[Change]:
        return diff_tools(old, new)

    def interaction_check(self, new_doc: Any) -> InteractionCheck:
        tools = mcp_tools(new_doc)
        return lambda where, req, resp: _check_mcp(tools, where, req, resp)
