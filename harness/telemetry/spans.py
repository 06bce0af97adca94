"""Spans in the harness JSONL shape (docs/telemetry.md), from JSONL files, OTLP JSON
files (``ExportTraceServiceRequest`` as JSON, e.g. a Collector's file exporter) and OTLP
protobuf bodies.

OTLP JSON spells ids in hex, but protobuf's ``MessageToDict`` spells them in base64;
both are accepted (told apart by length), so one converter serves files and the receiver.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.scoring.data import Span
from harness.telemetry.redact import redact

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUS = ("UNSET", "OK", "ERROR")


def span_sort_key(span: Span) -> tuple[int, str, str]:
    """Spans arrive in end order (children first); scoring wants a stable start order."""
    start = span.get("start_ns")
    return (int(start) if isinstance(start, int | float) else 0, str(span.get("trace_id")),
            str(span.get("span_id")))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON objects, one a line. A torn *last* line (writer killed) is skipped; any other
    bad line is a ``ConfigError`` naming file and line."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    last = max((i for i, raw in enumerate(lines) if raw.strip()), default=-1)
    out = []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            if i == last:
                break
            raise ConfigError(f"not valid JSON: {exc.msg}", path=str(path), line=i + 1) from None
        if not isinstance(obj, dict):
            raise ConfigError("expected a JSON object per line", path=str(path), line=i + 1)
        out.append(obj)
    return out


def read_span_jsonl(path: Path) -> list[Span]:
    return [normalize_span(s) for s in read_jsonl(path)]


def read_otlp_json(path: Path) -> list[Span]:
    """An OTLP JSON file: one ``ExportTraceServiceRequest`` object, or one per line."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = read_jsonl(path)
    spans: list[Span] = []
    for doc in docs:
        if not isinstance(doc, dict) or ("resourceSpans" not in doc and "resource_spans" not in doc):
            raise ConfigError("not an OTLP JSON trace export (no 'resourceSpans')", path=str(path))
        spans.extend(spans_from_otlp(doc))
    return spans


def spans_from_otlp(doc: dict[str, Any]) -> Iterator[Span]:
    """Flatten an ``ExportTraceServiceRequest`` dict (camelCase or snake_case keys)."""
    for rs in _get(doc, "resourceSpans") or []:
        resource = attributes(_get(rs.get("resource") or {}, "attributes") or [])
        for ss in _get(rs, "scopeSpans") or _get(rs, "instrumentationLibrarySpans") or []:
            scope = ss.get("scope") or {}
            for sp in ss.get("spans") or []:
                parent = _hex_id(_get(sp, "parentSpanId"))
                status = sp.get("status") or {}
                yield normalize_span({
                    "trace_id": _hex_id(_get(sp, "traceId")),
                    "span_id": _hex_id(_get(sp, "spanId")),
                    "parent_span_id": parent or None,
                    "name": sp.get("name", ""),
                    "kind": _enum(sp.get("kind"), KINDS, "SPAN_KIND_"),
                    "start_ns": int(_get(sp, "startTimeUnixNano") or 0),
                    "end_ns": int(_get(sp, "endTimeUnixNano") or 0),
                    "status": _enum(status.get("code"), STATUS, "STATUS_CODE_"),
                    "attributes": attributes(sp.get("attributes") or []),
                    "events": [{"name": e.get("name", ""), "attributes": attributes(e.get("attributes") or [])}
                               for e in sp.get("events") or []],
                    "resource": resource,
                    "scope": scope.get("name"),
                })


def spans_from_protobuf(body: bytes) -> list[Span]:
    """Decode a protobuf ``ExportTraceServiceRequest`` body (raises ``ValueError`` if bad)."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    try:
        req.ParseFromString(body)
    except DecodeError as exc:
        raise ValueError(f"bad OTLP protobuf: {exc}") from None
    return list(spans_from_otlp(MessageToDict(req)))


def normalize_span(span: dict[str, Any]) -> Span:
    """Fill defaults and redact secrets so every reader sees the same shape."""
    out = dict(span)
    out.setdefault("parent_span_id", None)
    out.setdefault("status", "UNSET")
    out["attributes"] = redact(dict(out.get("attributes") or {}))
    out["resource"] = redact(dict(out.get("resource") or {}))
    out["events"] = [{**e, "attributes": redact(dict(e.get("attributes") or {}))}
                     for e in out.get("events") or [] if isinstance(e, dict)]
    return out


def attributes(kvs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """OTLP ``[{key, value: {stringValue|intValue|...}}]`` to a plain dict."""
    return {kv["key"]: any_value(kv.get("value") or {}) for kv in kvs if "key" in kv}


def any_value(value: dict[str, Any]) -> Any:
    for key, conv in (("stringValue", str), ("string_value", str), ("boolValue", bool), ("bool_value", bool),
                      ("intValue", int), ("int_value", int), ("doubleValue", float), ("double_value", float)):
        if key in value:
            return conv(value[key])
    arr = _get(value, "arrayValue")
    if arr is not None:
        return [any_value(v) for v in arr.get("values") or []]
    kvl = _get(value, "kvlistValue")
    if kvl is not None:
        return attributes(kvl.get("values") or [])
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _get(obj: dict[str, Any], camel: str) -> Any:
    if camel in obj:
        return obj[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return obj.get(snake)


def _hex_id(raw: Any) -> str:
    """Hex (OTLP JSON) or base64 (protobuf MessageToDict) id to lowercase hex."""
    if not raw:
        return ""
    text = str(raw)
    if len(text) in (16, 32) and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text


def _enum(raw: Any, names: tuple[str, ...], prefix: str) -> str:
    if isinstance(raw, int):
        return names[raw] if 0 <= raw < len(names) else str(raw)
    if raw is None:
        return names[0]
    return str(raw).removeprefix(prefix)
