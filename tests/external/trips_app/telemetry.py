"""Spans and audit records as JSON lines (the shapes in docs/telemetry.md).

Several processes append to the same files; each record is one ``write`` of one line to a
file opened in append mode, so lines from different processes do not interleave.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any


def _append(env_var: str, record: dict[str, Any]) -> None:
    path = os.environ.get(env_var)
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, separators=(",", ":")) + "\n"
    with target.open("a", encoding="utf-8") as fh:
        fh.write(line)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def parse_traceparent(header: str | None) -> tuple[str | None, str | None]:
    """``00-<trace id>-<span id>-<flags>`` -> (trace id, parent span id)."""
    parts = (header or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        return parts[1], parts[2]
    return None, None


def write_span(*, service: str, name: str, kind: str, trace_id: str, span_id: str, parent_span_id: str | None,
               start_ns: int, end_ns: int, ok: bool, attributes: dict[str, Any]) -> None:
    _append("SPANS_FILE", {
        "trace_id": trace_id, "span_id": span_id, "parent_span_id": parent_span_id, "name": name,
        "kind": kind, "start_ns": start_ns, "end_ns": end_ns, "status": "OK" if ok else "ERROR",
        "attributes": attributes, "events": [], "resource": {"service.name": service},
    })


def write_audit(event: str, **fields: Any) -> None:
    _append("AUDIT_FILE", {"ts": time.time(), "event": event, **fields})
