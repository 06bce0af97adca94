"""JSON Schema helpers shared by the A2A and MCP suites: generated inputs (hypothesis-
jsonschema), deliberately invalid inputs, validation messages with field paths, and
JSON-RPC 2.0 envelope checks.

Inputs are drawn up front (no shrinking) because each one becomes a live call against
a running agent: we want N diverse, reproducible calls, not a minimised counterexample
that costs hundreds more requests.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema


def draw(strategy: st.SearchStrategy[Any], n: int, seed: int = 0) -> list[Any]:
    """``n`` examples of ``strategy``, reproducible for a given ``seed``."""
    out: list[Any] = []
    if n <= 0:
        return out

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out[:n]


def samples(schema: dict[str, Any], n: int, seed: int = 0) -> list[Any]:
    """Valid instances of a JSON Schema (empty schema -> empty objects)."""
    if n <= 0:
        return []
    if not schema:
        return [{}]
    return draw(from_schema(schema), n, seed)


_WRONG = {"string": 12345, "number": "not-a-number", "integer": "not-an-int", "boolean": "yes",
          "object": "not-an-object", "array": "not-an-array", "null": 0}


def invalid_variants(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """Inputs that violate ``schema`` in one clearly named way each: (label, instance)."""
    out: list[tuple[str, Any]] = []
    if schema.get("type", "object") != "object":
        return [("not an object", "not-an-object")]
    props: dict[str, Any] = schema.get("properties", {})
    required = list(schema.get("required", []))
    base = {name: _example(props.get(name, {})) for name in required}
    if required:
        out.append((f"missing required {required}", {}))
    for name, sub in props.items():
        kind = sub.get("type") if isinstance(sub, dict) else None
        if isinstance(kind, str) and kind in _WRONG:
            out.append((f"{name} of wrong type (not {kind})", {**base, name: _WRONG[kind]}))
    return out


def _example(schema: Any) -> Any:
    """A cheap valid-looking value for a property (used to fill the other fields)."""
    if not isinstance(schema, dict):
        return "x"
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    minimum = schema.get("minimum", 0)
    return {"string": "x" * max(1, int(schema.get("minLength", 1))), "number": float(minimum),
            "integer": int(minimum), "boolean": True, "object": {}, "array": []}.get(
        kind if isinstance(kind, str) else "", "x")


def violations(instance: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Every way ``instance`` violates ``schema``, each as ``path: message`` (path from ``where``)."""
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator = cls(schema)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    except jsonschema.SchemaError as exc:
        return [f"{where}: the declared schema is invalid: {exc.message}"]
    out = []
    for err in errors:
        path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        out.append(f"{path}: {err.message}")
    return out


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a usable JSON Schema, or None."""
    if not isinstance(schema, dict):
        return f"expected a JSON Schema object, got {type(schema).__name__}"
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return exc.message
    return None


def jsonrpc_problem(body: Any, request_id: Any) -> str | None:
    """Why ``body`` is not a well-formed JSON-RPC 2.0 response to ``request_id``, or None."""
    if not isinstance(body, dict):
        return f"response is not a JSON object: {str(body)[:120]!r}"
    if body.get("jsonrpc") != "2.0":
        return f"'jsonrpc' is {body.get('jsonrpc')!r}, expected '2.0'"
    if body.get("id") != request_id:
        return f"'id' is {body.get('id')!r}, expected {request_id!r}"
    if ("result" in body) == ("error" in body):
        return "exactly one of 'result' and 'error' must be present"
    if "error" in body:
        err = body["error"]
        if not isinstance(err, dict) or not isinstance(err.get("code"), int) \
                or not isinstance(err.get("message"), str):
            return f"'error' must be {{code: int, message: str}}, got {err!r}"
    return None
