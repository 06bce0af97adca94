"""Traffic recording: one JSON line per HTTP exchange that passed through a proxy.

The contract layer turns these files into Pact V4 interactions (consumer = caller, provider =
the agent behind the proxy), so the format is a stable contract. Line format, version 1::

    {"v": 1,
     "proxy": "payments",                  # proxy name
     "t_wall": 1764250000.123,             # epoch seconds when the request head arrived
     "t_mono": 8123.456,                   # time.monotonic() at the same moment (orders lines)
     "latency_ms": 12.3,                   # request head in -> response finished (or cut)
     "request": {"method": "POST", "path": "/rpc", "query": {"a": ["1"]},
                 "headers": {"content-type": "application/json", "authorization": "[REDACTED]"},
                 "body": {...} | "text" | null, "body_encoding": "json" | "text" | "base64" | "none",
                 "body_size": 123, "body_truncated": false},
     "response": {"status": 200, "headers": {...}, "body": ..., "body_encoding": ...,
                  "body_size": 456, "body_truncated": false} | null,   # null: no response reached the client
     "toxics": [{"name": "drift_amount", "type": "schema_drift"}],     # toxics that altered this exchange
     "error": null | "upstream closed before responding" | ...}

Header names are lower-cased; repeated headers are joined with ", ". The body fields describe what
the *client* saw (after toxics). Bodies above ``max_body_bytes`` are cut and stored as text with
``body_truncated: true``; ``body_size`` is always the full decoded size.

Redaction (applied in :meth:`Recorder.record`, whatever the caller passed) follows the one rule
set of :mod:`harness.redact`: headers, query parameters, form fields and JSON keys with a secret
name (authorization, cookie, *token but not counters such as max_tokens, *secret, *password,
api keys) have their values replaced by ``[REDACTED]``, and credentials inside JSON strings
(URL passwords, ``token=...``, ``Bearer ...``) are masked too.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from harness.redact import REDACTED, is_secret_name, redact_query_string
from harness.redact import redact as redact_body  # the name harness.contracts.traffic imports

JSON_TYPES = ("application/json", "+json", "application/jsonl", "application/x-ndjson")


def redact_headers(headers: dict[str, Any] | list[tuple[str, str]]) -> dict[str, str]:
    """Header pairs (or a dict) as a dict with lower-case names, secrets replaced by [REDACTED]."""
    out: dict[str, str] = {}
    items = headers.items() if isinstance(headers, dict) else headers
    for name, value in items:
        lname = str(name).lower()
        value = REDACTED if is_secret_name(lname) else str(value)
        out[lname] = f"{out[lname]}, {value}" if lname in out and value != REDACTED else value
    return out


def redact_query(query: dict[str, list[str]]) -> dict[str, list[str]]:
    """A parsed query (name -> values) with every value of a secret parameter replaced."""
    return {k: [REDACTED] * len(v) if is_secret_name(k) else list(v) for k, v in query.items()}


def _is_form(headers: Any) -> bool:
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    return any(str(k).lower() == "content-type" and "x-www-form-urlencoded" in str(v).lower() for k, v in items)


def parse_query(query: str) -> dict[str, list[str]]:
    """A raw query string as Pact's shape: name -> list of values (blank values kept)."""
    return parse_qs(query, keep_blank_values=True)


def encode_body(data: bytes, total_size: int, content_type: str | None, max_bytes: int) -> dict[str, Any]:
    """The body fields of a request/response entry (``data`` may already be a capped prefix)."""
    truncated = total_size > len(data) or len(data) > max_bytes
    data = data[:max_bytes]
    fields: dict[str, Any] = {"body_size": total_size, "body_truncated": truncated}
    if total_size == 0:
        return {**fields, "body": None, "body_encoding": "none"}
    ctype = (content_type or "").lower()
    if not truncated and (any(t in ctype for t in JSON_TYPES) or data[:1] in (b"{", b"[")):
        try:
            return {**fields, "body": json.loads(data), "body_encoding": "json"}
        except (ValueError, UnicodeDecodeError):
            pass
    try:
        return {**fields, "body": data.decode("utf-8"), "body_encoding": "text"}
    except UnicodeDecodeError:
        if truncated:  # a cut may split a multi-byte character: keep what decodes
            text = data.decode("utf-8", errors="ignore")
            if text and len(text.encode()) >= len(data) - 3:
                return {**fields, "body": text, "body_encoding": "text"}
        return {**fields, "body": base64.b64encode(data).decode("ascii"), "body_encoding": "base64"}


class Recorder:
    """Appends one redacted JSON line per exchange to ``path``; safe from threads and event loops.

    Lines are written and flushed under a lock so concurrent proxies/connections never interleave;
    no fsync (recording is evidence for contracts, not the crash-safe journal).
    """

    def __init__(self, path: Path, *, max_body_bytes: int = 64 * 1024) -> None:
        self.path = Path(path)
        self.max_body_bytes = max_body_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")
        self.count = 0

    def record(self, exchange: dict[str, Any]) -> None:
        """Redact and append one exchange (see the module docstring for the fields)."""
        line = json.dumps(self.redact(exchange), ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line + "\n")
            self._file.flush()
            self.count += 1

    @staticmethod
    def redact(exchange: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``exchange`` with secret headers, query parameters and body keys redacted."""
        out = dict(exchange)
        for side in ("request", "response"):
            part = out.get(side)
            if not isinstance(part, dict):
                continue
            part = dict(part)
            if "headers" in part:
                part["headers"] = redact_headers(part["headers"])
            if isinstance(part.get("query"), dict):
                part["query"] = redact_query(part["query"])
            if part.get("body_encoding", "json") == "json":
                part["body"] = redact_body(part.get("body"))
            elif part.get("body_encoding") == "text" and _is_form(part.get("headers")):
                part["body"] = redact_query_string(str(part.get("body") or ""))
            out[side] = part
        return out

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_recording(path: Path) -> list[dict[str, Any]]:
    """All exchanges in a recording file, in order (for the contract layer and tests)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
