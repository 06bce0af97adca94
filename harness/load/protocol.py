"""Wire format and pure helpers shared by the harness side and the Locust side.

This module is imported inside Locust processes, which gevent monkey-patches, and
inside the harness process, which must never see gevent. It therefore uses the
standard library only and does no I/O of its own.

Framing: every message is one UTF-8 JSON object terminated by ``\\n`` (JSON lines).
A producer's first message is ``{"type": "hello", "token": ..., "worker": i, "pid": p}``;
the harness drops connections whose token does not match, so a stray client on the
loopback port cannot inject samples. Every later message is ``{"type": "sample", ...}``
with the fields of :class:`harness.load.samples.Sample`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from harness.jsontools import render_template, resolve_pointer  # re-exported for the locustfile

__all__ = [
    "ENV_CONFIG",
    "ENV_SINK",
    "ENV_TOKEN",
    "ENV_WORKER",
    "LineDecoder",
    "encode_message",
    "render_template",
    "resolve_pointer",
    "status_url_for",
]

# Environment variables through which the harness configures the locustfile. The config
# travels in the environment (not a file) so secrets in URLs or bodies never touch disk.
ENV_CONFIG = "HARNESS_LOAD_CONFIG"
ENV_SINK = "HARNESS_LOAD_SINK"
ENV_TOKEN = "HARNESS_LOAD_TOKEN"
ENV_WORKER = "HARNESS_LOAD_WORKER"

MAX_LINE = 1 << 20  # a sample line is ~300 bytes; anything near 1 MiB is garbage



def encode_message(msg: dict[str, Any]) -> bytes:
    """One JSON line. ``ensure_ascii`` keeps the line free of raw newlines in any field."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


class LineDecoder:
    """Reassemble JSON lines from arbitrarily split stream chunks.

    TCP delivers bytes, not messages; a line may arrive in many pieces or many lines in
    one piece. Malformed lines are counted and skipped so one bad producer write cannot
    stall the stream.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad_lines = 0

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        self._buf += chunk
        out: list[dict[str, Any]] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > MAX_LINE:
                    self._buf.clear()
                    self.bad_lines += 1
                return out
            raw = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if not raw.strip():
                continue
            try:
                msg = json.loads(raw)
            except ValueError:
                self.bad_lines += 1
                continue
            if isinstance(msg, dict):
                out.append(msg)
            else:
                self.bad_lines += 1

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line (a torn write when the producer died)."""
        return len(self._buf)


def status_url_for(status_url: str, workflow_id: str) -> str:
    """Put a workflow id into a status URL template, escaped as one path segment."""
    return status_url.replace("{id}", quote(workflow_id, safe=""))
