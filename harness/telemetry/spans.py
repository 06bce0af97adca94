"""Spans from OTLP JSON documents and protobuf bodies, and JSON record files of any accepted shape.

OTLP JSON spells ids in hex, but protobuf's ``MessageToDict`` spells them in base64; both
are accepted (``normalize``), so one converter serves files and the receiver. The
accounting of what could not be read lives in ``intake``; this module only yields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.scoring.data import Span
from harness.telemetry.normalize import Unreadable, is_otlp, iter_otlp, normalize_span

__all__ = ["Record", "iter_records", "read_span_jsonl", "span_sort_key", "spans_from_otlp", "spans_from_protobuf"]

NOT_JSON = "not valid JSON"
TORN = "torn last line (its writer was still writing it)"


@dataclass(frozen=True)
class Record:
    """One record of a file: the parsed object (or ``None``) and where it was read."""

    value: Any
    where: str
    error: str | None = None
    """Why it could not be parsed at all (``NOT_JSON``, ``TORN``), else ``None``."""


def span_sort_key(span: Span) -> tuple[int, str, str]:
    """Spans arrive in end order (children first); scoring wants a stable start order."""
    start = span.get("start_ns")
    return (int(start) if isinstance(start, int | float) else 0, str(span.get("trace_id")),
            str(span.get("span_id")))


def iter_records(path: Path, label: str | None = None) -> Iterator[Record]:
    """Every record of a file, whatever its layout: one JSON document (an object, an OTLP
    export, or an array of either) or JSON lines (each an object, an OTLP export or an array).
    OTLP exports are opened into their spans. A line that is not JSON is yielded with its
    error, so the caller counts it; a torn *last* line (writer killed) says so."""
    name = label or str(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    stripped = text.strip()
    if not stripped:
        return
    if stripped[0] in "[{":
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError:
            pass
        else:
            yield from _expand(doc, name)
            return
    lines = text.splitlines()
    last = max((i for i, raw in enumerate(lines) if raw.strip()), default=-1)
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        where = f"{name}:{i + 1}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            yield Record(None, where, TORN if i == last else NOT_JSON)
            continue
        yield from _expand(obj, where)


def _expand(doc: Any, where: str) -> Iterator[Record]:
    if is_otlp(doc):
        for span in iter_otlp(doc):
            yield Record(span, where)
    elif isinstance(doc, list):
        for item in doc:
            yield from _expand(item, where)
    else:
        yield Record(doc, where)


def read_span_jsonl(path: Path) -> list[Span]:
    """The spans of a file that normalise (a receiver's or exporter's output); what does
    not is skipped here. Scoring reads through ``intake``, which counts those."""
    out = []
    for rec in iter_records(path):
        if rec.error is None:
            try:
                out.append(normalize_span(rec.value))
            except Unreadable:
                continue
    return out


def spans_from_otlp(doc: dict[str, Any]) -> list[Span]:
    """Flatten an ``ExportTraceServiceRequest`` dict (camelCase or snake_case keys). A span
    that does not normalise is passed on as received, so the intake that later reads the
    file counts it as ignored with its reason instead of it vanishing here."""
    out: list[Span] = []
    for raw in iter_otlp(doc):
        try:
            out.append(normalize_span(raw))
        except Unreadable:
            out.append(raw if isinstance(raw, dict) else {"value": raw})
    return out


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
    return spans_from_otlp(MessageToDict(req))
