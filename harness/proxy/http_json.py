"""Response-body rewrites for the JSON toxics (pure functions, no I/O).

Each function takes the decoded response body and the toxic's normalized attributes and returns
the new body, or None when the toxic does not apply (body is not JSON, pointer not found). The
relay records a toxic as having altered an exchange only when its function returned a new body.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

_MISSING = object()


def split_pointer(pointer: str) -> list[str]:
    """RFC 6901 pointer to its unescaped tokens (``~1`` is ``/``, ``~0`` is ``~``)."""
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _parents(doc: Any, tokens: list[str]) -> list[tuple[Any, str | int]]:
    """Every (container, key) the pointer reaches; a ``*`` token fans out over all items."""
    found: list[tuple[Any, str | int]] = []

    def walk(node: Any, rest: list[str]) -> None:
        token, tail = rest[0], rest[1:]
        if token == "*":
            keys: list[Any] = list(range(len(node))) if isinstance(node, list) else (
                list(node) if isinstance(node, dict) else [])
        elif isinstance(node, dict):
            keys = [token] if token in node else []
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            keys = [int(token)]
        else:
            keys = []
        for key in keys:
            if tail:
                walk(node[key], tail)
            else:
                found.append((node, key))

    if tokens:
        walk(doc, tokens)
    return found


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _MISSING


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def json_truncate(body: bytes, attrs: dict[str, Any]) -> bytes | None:
    """Keep the first ``bytes`` bytes, or the first ``fraction`` of the body."""
    if attrs.get("bytes") is not None:
        cut = min(int(attrs["bytes"]), len(body))
    else:
        cut = int(len(body) * float(attrs.get("fraction") or 0.5))
    return body[:cut] if cut < len(body) else None


def json_malform(body: bytes, attrs: dict[str, Any]) -> bytes | None:
    """Make the body invalid JSON, in the ways broken servers and proxies really do it."""
    mode = attrs.get("mode", "trailing_garbage")
    if mode == "html":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    if mode == "drop_closing":
        stripped = body.rstrip()
        if stripped[-1:] in (b"}", b"]"):
            return stripped[:-1]
        return stripped + b'"' if stripped else b"{"  # a scalar: open a string that never closes
    return body.rstrip() + b',}{"'  # trailing_garbage


def schema_drift(body: bytes, attrs: dict[str, Any]) -> bytes | None:
    """Remove, rename or retype the field(s) at ``pointer``."""
    doc = _load(body)
    places = _parents(doc, split_pointer(attrs["pointer"])) if doc is not _MISSING else []
    if not places:
        return None
    op = attrs.get("op", "remove")
    changed = False
    for parent, key in reversed(places):  # reversed: list removals keep earlier indexes valid
        if op == "remove":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            if key == attrs["to"]:
                continue
            parent[attrs["to"]] = parent.pop(key)
        elif op == "retype":
            new = retype(parent[key], attrs.get("to") or "string")
            if new is _MISSING:
                continue
            parent[key] = new
        else:
            continue
        changed = True
    return _dump(doc) if changed else None


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def retype(value: Any, to: str) -> Any:
    """``value`` converted to JSON type ``to``; ``_MISSING`` if it already has that type."""
    have = json_type(value)
    if have == to or (to == "number" and have == "integer"):
        return _MISSING
    if to == "string":
        return json.dumps(value) if not isinstance(value, int | float) or isinstance(value, bool) else str(value)
    if to in ("number", "integer"):
        if isinstance(value, int | float):  # bool, or a float asked to become an integer
            return int(value)
        try:
            return int(value) if to == "integer" else float(value)
        except (TypeError, ValueError):
            return len(value) if isinstance(value, str | list | dict) else 0
    if to == "boolean":
        return bool(value)
    if to == "null":
        return None
    if to == "array":
        return [value]
    return {"value": value}  # object


def wrong_value(body: bytes, attrs: dict[str, Any]) -> bytes | None:
    """Replace the value(s) at ``pointer`` with ``value``, or with a same-typed different value."""
    doc = _load(body)
    places = _parents(doc, split_pointer(attrs["pointer"])) if doc is not _MISSING else []
    changed = False
    for parent, key in places:
        new = attrs["value"] if attrs.get("value") is not None else plausible_wrong(parent[key])
        if new is not _MISSING and new != parent[key]:
            parent[key] = new
            changed = True
    return _dump(doc) if changed else None


def _shift_char(ch: str) -> str:
    for lo, hi in (("a", "z"), ("A", "Z"), ("0", "9")):
        if lo <= ch <= hi:
            return lo if ch == hi else chr(ord(ch) + 1)
    return ch


def plausible_wrong(value: Any) -> Any:
    """A value of the same JSON type and shape that differs: the kind of bug schemas cannot catch.

    Strings keep their length and character classes (IDs, codes and dates stay well-formed-looking),
    numbers move by one, booleans flip, arrays are reordered or shortened.
    """
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        new = value + 1.0
        return new if new != value else (-value if value else 1.0)  # huge floats absorb +1
    if isinstance(value, str):
        shifted = "".join(_shift_char(c) for c in value)
        return shifted if shifted != value else value + "x"
    if isinstance(value, list):
        if len(value) > 1 and value[::-1] != value:
            return value[::-1]
        return value[:-1] if value else _MISSING
    return _MISSING  # null and objects: no same-shaped wrong value to pick


def decode_content(body: bytes, coding: str | None) -> bytes | None:
    """``body`` without its Content-Encoding ``coding``; None for an encoding that cannot be read.

    The rewrites work on the decoded JSON; a body they cannot decode is left alone.
    """
    coding = (coding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(body, 47)  # auto-detects gzip and zlib headers
        except zlib.error:
            return None
    return None


REWRITES: dict[str, Callable[[bytes, dict[str, Any]], bytes | None]] = {
    "json_truncate": json_truncate,
    "json_malform": json_malform,
    "schema_drift": schema_drift,
    "wrong_value": wrong_value,
}
