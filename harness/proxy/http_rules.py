"""HTTP toxic types: attribute validation and request matching (no I/O).

Every HTTP toxic acts on responses (``stream`` must be downstream) and shares four optional
matchers: ``method``, ``path`` (fnmatch glob on the path, query excluded), ``jsonrpc_method``
(A2A JSON-RPC ``method``) and ``tool`` (MCP ``tools/call`` ``params.name``). A request matches when
every matcher that is set matches; unset matchers match all. The toxic then fires with probability
``toxicity * probability`` (both default to 1), rolled per matching request; ``seed`` makes the
rolls reproducible. See docs/http-toxics.md for each type's attributes.
"""

from __future__ import annotations

import http
import json
import math
import random
import re
import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from harness.proxy.http_parse import build_head, replace_headers
from harness.proxy.types import ToxicView

HTTP_TOXIC_TYPES: frozenset[str] = frozenset({
    "http_status", "http_abort", "http_delay", "json_truncate", "json_malform",
    "schema_drift", "wrong_value", "fail_first_n", "stream_cut",
})

#: Types that need the whole response body in memory to rewrite it.
BODY_TOXICS = frozenset({"json_truncate", "json_malform", "schema_drift", "wrong_value"})
#: Types that answer the request themselves instead of the upstream.
ANSWER_TOXICS = frozenset({"http_status", "fail_first_n"})

_COMMON = {"method": None, "path": None, "jsonrpc_method": None, "tool": None,
           "probability": 1.0, "seed": None}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "http_status": {"status": 503, "headers": {}, "body": ""},
    "http_abort": {"after_bytes": None, "reset": False},
    "http_delay": {"delay_ms": 1000, "jitter_ms": 0},
    "json_truncate": {"fraction": None, "bytes": None},
    "json_malform": {"mode": "trailing_garbage"},
    "schema_drift": {"pointer": None, "op": "remove", "to": None},
    "wrong_value": {"pointer": None, "value": None},
    "fail_first_n": {"n": 1, "status": 503, "headers": {}, "body": ""},
    "stream_cut": {"events": None, "bytes": None, "reset": False},
}
MALFORM_MODES = ("trailing_garbage", "drop_closing", "html")
DRIFT_OPS = ("remove", "rename", "retype")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
JSON_TYPES = ("string", "number", "integer", "boolean", "null", "array", "object")


def _fail(type_: str, attr: str, why: str) -> ValueError:
    return ValueError(f"{type_}: attribute '{attr}' {why}")


def _int(type_: str, attrs: dict[str, Any], name: str, lo: int, hi: int | None = None) -> None:
    value = attrs[name]
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or int(value) != value:
        raise _fail(type_, name, f"must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise _fail(type_, name, f"must be {bound}, got {value!r}")
    attrs[name] = int(value)


def _number(type_: str, attrs: dict[str, Any], name: str, lo: float, hi: float | None = None) -> None:
    value = attrs[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _fail(type_, name, f"must be a number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise _fail(type_, name, f"must be {bound}, got {value!r}")
    attrs[name] = float(value)


def _glob_list(type_: str, attrs: dict[str, Any], name: str, upper: bool = False) -> None:
    value = attrs[name]
    if value is None or value == "":
        attrs[name] = None
        return
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise _fail(type_, name, f"must be a string or a list of strings, got {value!r}")
    attrs[name] = [i.upper() if upper else i for i in items]


def _pointer(type_: str, attrs: dict[str, Any]) -> None:
    value = attrs["pointer"]
    if not isinstance(value, str) or not value.startswith("/"):
        raise _fail(type_, "pointer", f"must be a JSON pointer starting with '/', got {value!r}")


def _answer(type_: str, attrs: dict[str, Any]) -> None:
    _int(type_, attrs, "status", 200, 599)
    headers = attrs["headers"]
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str | int | float) for k, v in headers.items()):
        raise _fail(type_, "headers", f"must be an object of header name to string, got {headers!r}")
    for k, v in headers.items():
        if not _HEADER_NAME.match(k) or "\r" in str(v) or "\n" in str(v):
            raise _fail(type_, "headers", f"has an invalid header {k!r} (names are tokens, no CR/LF in values)")
    attrs["headers"] = {k: str(v) for k, v in headers.items()}
    if not isinstance(attrs["body"], str | dict | list):
        raise _fail(type_, "body", "must be a string or a JSON object/array")
    _strict_json(type_, attrs, "body")


def validate_http_toxic(type_: str, attributes: dict[str, Any], *, stream: str | None = None) -> dict[str, Any]:
    """Check an HTTP toxic's attributes and return them normalized, with every default filled in.

    Raises ValueError with a one-line message naming the attribute; the API turns it into a 400.
    ``stream`` (optional) is checked too: these toxics act on responses, so only ``downstream``.
    """
    if type_ not in HTTP_TOXIC_TYPES:
        raise ValueError(f"unknown HTTP toxic type {type_!r}; known: {', '.join(sorted(HTTP_TOXIC_TYPES))}")
    if stream not in (None, "", "downstream"):
        raise ValueError(f"{type_}: stream must be 'downstream' (HTTP toxics act on responses), got {stream!r}")
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise ValueError(f"{type_}: attributes must be a JSON object, got {attributes!r}")
    known = {**_COMMON, **_DEFAULTS[type_]}
    unknown = sorted(set(attributes) - set(known))
    if unknown:
        raise _fail(type_, unknown[0], f"is not known; known attributes: {', '.join(sorted(known))}")
    attrs = {**known, **{k: v for k, v in attributes.items()}}
    _glob_list(type_, attrs, "method", upper=True)
    for name in ("path", "jsonrpc_method", "tool"):
        _glob_list(type_, attrs, name)
    _number(type_, attrs, "probability", 0.0, 1.0)
    if attrs["seed"] is not None:
        _int(type_, attrs, "seed", -(2**63), 2**63)
    _CHECKS[type_](type_, attrs)
    return attrs


def _check_abort(type_: str, attrs: dict[str, Any]) -> None:
    _int(type_, attrs, "after_bytes", 0)
    _bool(type_, attrs, "reset")


def _bool(type_: str, attrs: dict[str, Any], name: str) -> None:
    if not isinstance(attrs[name], bool):
        raise _fail(type_, name, f"must be true or false, got {attrs[name]!r}")


def _check_delay(type_: str, attrs: dict[str, Any]) -> None:
    _number(type_, attrs, "delay_ms", 0.0, 3_600_000.0)
    _number(type_, attrs, "jitter_ms", 0.0, 3_600_000.0)


def _check_truncate(type_: str, attrs: dict[str, Any]) -> None:
    if attrs["fraction"] is not None and attrs["bytes"] is not None:
        raise _fail(type_, "bytes", "cannot be combined with 'fraction'; set one")
    if attrs["bytes"] is not None:
        _int(type_, attrs, "bytes", 0)
    else:
        if attrs["fraction"] is None:
            attrs["fraction"] = 0.5
        _number(type_, attrs, "fraction", 0.0, 1.0)
        if attrs["fraction"] >= 1.0:
            raise _fail(type_, "fraction", "must be below 1 (1 would keep the whole body)")


def _check_malform(type_: str, attrs: dict[str, Any]) -> None:
    if attrs["mode"] not in MALFORM_MODES:
        raise _fail(type_, "mode", f"must be one of {', '.join(MALFORM_MODES)}, got {attrs['mode']!r}")


def _check_drift(type_: str, attrs: dict[str, Any]) -> None:
    _pointer(type_, attrs)
    op = attrs["op"]
    if op not in DRIFT_OPS:
        raise _fail(type_, "op", f"must be one of {', '.join(DRIFT_OPS)}, got {op!r}")
    if op == "rename" and (not isinstance(attrs["to"], str) or not attrs["to"]):
        raise _fail(type_, "to", "must name the new key when op is rename")
    if op == "retype":
        attrs["to"] = attrs["to"] or "string"
        if attrs["to"] not in JSON_TYPES:
            raise _fail(type_, "to", f"must be one of {', '.join(JSON_TYPES)} when op is retype")
    if op == "remove" and attrs["to"] is not None:
        raise _fail(type_, "to", "only applies to op rename or retype")


def _strict_json(type_: str, attrs: dict[str, Any], name: str) -> None:
    try:
        json.dumps(attrs[name], allow_nan=False)
    except (ValueError, TypeError):
        raise _fail(type_, name, "must be plain JSON (no NaN or Infinity)") from None


def _check_wrong(type_: str, attrs: dict[str, Any]) -> None:
    _pointer(type_, attrs)
    _strict_json(type_, attrs, "value")


def _check_fail_first(type_: str, attrs: dict[str, Any]) -> None:
    _int(type_, attrs, "n", 1)
    _answer(type_, attrs)


def _check_cut(type_: str, attrs: dict[str, Any]) -> None:
    if attrs["events"] is not None and attrs["bytes"] is not None:
        raise _fail(type_, "bytes", "cannot be combined with 'events'; set one")
    if attrs["events"] is None and attrs["bytes"] is None:
        attrs["events"] = 1
    _int(type_, attrs, "events", 0)
    _int(type_, attrs, "bytes", 0)
    _bool(type_, attrs, "reset")


_CHECKS = {
    "http_status": _answer, "http_abort": _check_abort, "http_delay": _check_delay,
    "json_truncate": _check_truncate, "json_malform": _check_malform, "schema_drift": _check_drift,
    "wrong_value": _check_wrong, "fail_first_n": _check_fail_first, "stream_cut": _check_cut,
}


# ---------------------------------------------------------------- matching


@dataclass
class RequestInfo:
    """What matchers look at. ``rpc_methods``/``tools`` are None when the body was not inspected."""

    method: str
    path: str
    rpc_methods: list[str] | None = None
    tools: list[str] | None = None


def attrs(view: ToxicView) -> dict[str, Any] | None:
    """The view's attributes, normalized once and cached in ``view.state`` (None if invalid).

    The core validates on the API already; this keeps the data path safe for views built elsewhere.
    """
    cached = view.state.get("attrs")
    if cached is None or view.state.get("attrs_src") != view.attributes:
        try:
            cached = validate_http_toxic(view.type, dict(view.attributes))
        except ValueError:
            cached = {}
        view.state["attrs"], view.state["attrs_src"] = cached, dict(view.attributes)
    return cached or None


def needs_body(view: ToxicView) -> bool:
    """Whether matching this toxic requires the request body (JSON-RPC method or MCP tool)."""
    a = attrs(view) or {}
    return bool(a.get("jsonrpc_method") or a.get("tool"))


def inspect_body(body: bytes) -> tuple[list[str], list[str]]:
    """JSON-RPC method names and MCP tool names in a request body (batches included)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [], []
    methods: list[str] = []
    tools: list[str] = []
    for msg in doc if isinstance(doc, list) else [doc]:
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            continue
        methods.append(msg["method"])
        params = msg.get("params")
        if msg["method"] == "tools/call" and isinstance(params, dict) and isinstance(params.get("name"), str):
            tools.append(params["name"])
    return methods, tools


def _any_glob(patterns: list[str] | None, values: list[str] | None) -> bool:
    if patterns is None:
        return True
    return bool(values) and any(fnmatchcase(v, p) for p in patterns for v in values)  # type: ignore[union-attr]


def matches(view: ToxicView, req: RequestInfo) -> bool:
    """Whether the request is one this toxic targets (before the probability roll)."""
    a = attrs(view)
    if a is None:
        return False
    if a.get("method") and req.method.upper() not in a["method"]:
        return False
    if a.get("path") and not any(fnmatchcase(req.path, p) for p in a["path"]):
        return False
    return _any_glob(a.get("jsonrpc_method"), req.rpc_methods) and _any_glob(a.get("tool"), req.tools)


def _state_lock(view: ToxicView) -> threading.Lock:
    lock = view.state.get("lock")
    if lock is None:
        lock = view.state.setdefault("lock", threading.Lock())  # setdefault is atomic: one lock wins
    return lock


def roll(view: ToxicView) -> bool:
    """The per-request probability roll: ``toxicity * probability``."""
    a = attrs(view) or {}
    p = max(0.0, min(1.0, float(view.toxicity))) * float(a.get("probability", 1.0))
    if p >= 1.0:
        return True
    if p <= 0.0:
        return False
    with _state_lock(view):
        rng = view.state.get("rng")
        if rng is None:
            rng = view.state["rng"] = random.Random(a.get("seed"))
        return rng.random() < p


def take_failure(view: ToxicView) -> bool:
    """fail_first_n: True while this toxic has failed fewer than ``n`` requests (counted across connections)."""
    with _state_lock(view):
        count = view.state.get("failures", 0)
        if count >= (attrs(view) or {}).get("n", 1):
            return False
        view.state["failures"] = count + 1
        return True


def select(views: list[ToxicView], req: RequestInfo) -> list[ToxicView]:
    """The toxics that fire for this request, in the order the proxy lists them."""
    return [v for v in views if v.type in HTTP_TOXIC_TYPES and matches(v, req) and roll(v)]


def answer_response(a: dict[str, Any], method: str, close: bool) -> tuple[bytes, bytes]:
    """The response head and body an answer toxic (``http_status``, ``fail_first_n``) sends.

    ``a`` is the toxic's normalized attributes; a dict or list ``body`` goes out as JSON. The
    Content-Length is always set so the client's keep-alive connection stays usable.
    """
    body = a.get("body") or ""
    ctype = None
    if isinstance(body, dict | list):
        payload, ctype = json.dumps(body).encode(), "application/json"
    else:
        payload = str(body).encode()
        ctype = "text/plain; charset=utf-8" if payload else None
    headers = list(a.get("headers", {}).items())
    if ctype and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", ctype))
    headers = replace_headers(headers, {"content-length"}, [("Content-Length", str(len(payload)))])
    if close:
        headers.append(("Connection", "close"))
    status = int(a.get("status", 503))
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = build_head(f"HTTP/1.1 {status} {reason}", headers)
    return head, (b"" if method == "HEAD" else payload)
