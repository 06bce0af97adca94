"""Local can-i-deploy: may a new provider version ship, given every recorded consumer pact?

The new contract's protocol (``harness.contracts.catalog``) holds each interaction against
it (``ContractProtocol.interaction_check``); the built-in rules are here. For each
interaction a consumer's pact expects from ``provider``, the NEW contract (an OpenAPI
document, an A2A agent card or an MCP tool list) must still offer it:

- OpenAPI: the operation exists (path templates match recorded paths), the expected
  status is documented, the recorded request body is valid for the new request schema,
  and the new response schema still promises every field (and type) the consumer saw.
- A2A: the JSON-RPC method is standard A2A 1.0; data parts the consumer sends validate
  against a skill's input schema; data the consumer got is still promised by a skill's
  output schema.
- MCP: the tool exists, the recorded arguments validate against its ``inputSchema``,
  and its ``outputSchema`` still promises the ``structuredContent`` fields the consumer saw.

Every problem is a breaking ``Change`` naming consumer, interaction and field. What the
consumer received is an observation, not a promise, so it is held against what the new
contract promises only: a response the contract leaves untyped (FastAPI's schema for a
handler returning ``dict``) is a non-breaking "not checked" note, never "field removed";
so the very document a provider runs with can always deploy.
"""

from __future__ import annotations

import re
from typing import Any

from harness.contracts._schema import violations
from harness.contracts.compat import Change, _Refs, compare_schema, infer_schema
from harness.contracts.diff import _body, _json_schema, _operations, card_schemas

A2A_METHODS = frozenset({
    "SendMessage", "SendStreamingMessage", "GetTask", "ListTasks", "CancelTask", "SubscribeToTask",
    "CreateTaskPushNotificationConfig", "GetTaskPushNotificationConfig", "ListTaskPushNotificationConfigs",
    "DeleteTaskPushNotificationConfig", "GetExtendedAgentCard",
})


def _path_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def _received(observed: Any, schema: Any, where: str, refs: _Refs | None = None) -> list[Change]:
    """What the new contract says about a body the consumer received: breaking problems and
    "not checked" notes (other non-breaking differences are not news to anyone)."""
    changes = compare_schema(infer_schema(observed), schema, where, "output", new_refs=refs, observed=True)
    return [c for c in changes if c.breaking or c.message.startswith("not checked")]


def _check_openapi(doc: dict[str, Any], where: str, req: dict[str, Any], resp: dict[str, Any]) -> list[Change]:
    refs = _Refs(doc)
    method, path = str(req.get("method", "GET")).upper(), str(req.get("path", "/"))
    ops = [(k, op) for k, op in _operations(doc).items() if k[0] == method and _path_regex(k[1]).match(path)]
    if not ops:
        return [Change(True, where, f"{method} {path} is not offered by the new version")]
    (_, template), op = ops[0]
    out: list[Change] = []
    status = str(resp.get("status", 200))
    responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
    if status not in responses and "default" not in responses:
        out.append(Change(True, where, f"{method} {template}: status {status} is no longer documented "
                                       f"(documented: {sorted(responses)})"))
    body = _body(req)
    schema = _json_schema(refs.resolve(op.get("requestBody") or {}).get("content"))
    if isinstance(body, dict | list) and isinstance(schema, dict):
        resolved = _inline(schema, refs)
        out += [Change(True, where, f"the recorded request is rejected: {v}")
                for v in violations(body, resolved, "$request")]
    expected = _body(resp)
    rschema = _json_schema(refs.resolve(responses.get(status) or {}).get("content"))
    if isinstance(expected, dict | list):
        out += _received(expected, rschema, f"{where} response $", refs)
    return out


def _inline(schema: Any, refs: _Refs, depth: int = 0) -> Any:
    """Inline local $refs so a standalone validator can use an OpenAPI sub-schema."""
    schema = refs.resolve(schema)
    if depth > 15:
        return {}
    if isinstance(schema, dict):
        return {k: _inline(v, refs, depth + 1) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, refs, depth + 1) for v in schema]
    return schema


def _parts_data(parts: Any) -> list[dict[str, Any]]:
    return [p["data"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("data"), dict)]


def _sent_data(params: Any) -> list[dict[str, Any]]:
    """Data parts of the message a consumer sends (``params.message.parts``)."""
    message = params.get("message") if isinstance(params, dict) else None
    return _parts_data(message.get("parts")) if isinstance(message, dict) else []


def _result_data(result: Any) -> list[dict[str, Any]]:
    """Data parts the agent produced: task artifacts (SendMessage's ``task`` or GetTask's
    bare Task) or a direct reply message; never the echoed history of the caller's input."""
    if not isinstance(result, dict):
        return []
    task = result.get("task", result)
    out = [d for art in task.get("artifacts") or [] if isinstance(art, dict) for d in _parts_data(art.get("parts"))]
    message = result.get("message")
    if isinstance(message, dict):
        out += _parts_data(message.get("parts"))
    return out


def _check_a2a(card: dict[str, Any], where: str, req: dict[str, Any], resp: dict[str, Any]) -> list[Change]:
    body = _body(req)
    method = body.get("method") if isinstance(body, dict) else None
    if method not in A2A_METHODS:
        return [Change(True, where, f"JSON-RPC method {method!r} is not an A2A 1.0 method")]
    schemas = card_schemas(card)
    out: list[Change] = []
    inputs = [s["input"] for s in schemas.values() if "input" in s]
    for data in _sent_data(body.get("params")):
        if inputs and all(violations(data, schema) for schema in inputs):
            out.append(Change(True, where, f"sent data {sorted(data)} is rejected by every skill input schema: "
                                           f"{violations(data, inputs[0])[0]}"))
    outputs = [s["output"] for s in schemas.values() if "output" in s]
    expected = _body(resp)
    for data in _result_data(expected.get("result") if isinstance(expected, dict) else None):
        if not outputs:
            continue
        attempts = [_received(data, schema, f"{where} data $") for schema in outputs]
        out += min(attempts, key=lambda cs: (sum(c.breaking for c in cs), len(cs)))
    return out


def _check_mcp(tools: dict[str, dict[str, Any]], where: str, req: dict[str, Any],
               resp: dict[str, Any]) -> list[Change]:
    body = _body(req)
    if not isinstance(body, dict) or body.get("method") != "tools/call":
        return []
    params = body.get("params") or {}
    name = params.get("name")
    if name not in tools:
        return [Change(True, where, f"tool {name!r} is not offered by the new version")]
    tool = tools[name]
    out = [Change(True, where, f"the recorded arguments are rejected: {v}")
           for v in violations(params.get("arguments") or {}, tool.get("inputSchema") or {}, "$arguments")]
    expected = _body(resp)
    structured = ((expected or {}).get("result") or {}).get("structuredContent") \
        if isinstance(expected, dict) else None
    if isinstance(structured, dict):
        if tool.get("outputSchema") is None:
            out.append(Change(True, where, f"tool {name!r} no longer declares an outputSchema"))
        else:
            out += _received(structured, tool["outputSchema"], f"{where} structuredContent $")
    return out


