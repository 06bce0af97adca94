"""Where ``http_abort`` (``after_bytes``) and ``stream_cut`` end a response body part way through.

The relay streams a response piece by piece; a :class:`Cutter` tells it how much of each piece to
pass before the connection is cut: after a number of payload bytes, or after a number of complete
Server-Sent Events (an event ends with a blank line). When several such toxics fire on one request,
the earliest cut wins. Pure logic, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.proxy.http_rules import attrs
from harness.proxy.types import ToxicView

_SSE_END = (b"\n\n", b"\r\n\r\n")


class Cut(Exception):
    """A toxic ended the connection on purpose (abort or stream cut)."""


class Cutter:
    """Decides where a body is cut: after ``limit`` payload bytes or after ``events`` SSE events."""

    def __init__(self, limit: int | None, events: int | None) -> None:
        self.limit, self.events = limit, events
        self.seen = 0
        self.tail = b""

    def keep(self, data: bytes) -> int | None:
        """How many bytes of ``data`` to pass before cutting, or None to pass it all."""
        best: int | None = None
        if self.limit is not None and self.seen + len(data) >= self.limit:
            best = self.limit - self.seen
        if self.events is not None:
            pos = self._event_end(data)
            if pos is not None:
                best = pos if best is None else min(best, pos)
        self.seen += len(data)
        return best

    def _event_end(self, data: bytes) -> int | None:
        if self.events == 0:
            return 0
        buf = self.tail + data
        ends = sorted(i + len(sep) for sep in _SSE_END for i in _find_all(buf, sep) if i + len(sep) > len(self.tail))
        self.tail = buf[-3:]
        for end in ends:
            self.events -= 1  # type: ignore[operator]
            if self.events == 0:
                return end - (len(buf) - len(data))
        return None


def _find_all(buf: bytes, sep: bytes) -> list[int]:
    out, i = [], buf.find(sep)
    while i != -1:
        out.append(i)
        i = buf.find(sep, i + 1)
    return out


def cutter_for(views: Sequence[ToxicView]) -> tuple[Cutter | None, list[ToxicView]]:
    """The cutter for the fired ``http_abort``/``stream_cut`` toxics, and the toxics that set it.

    (None, []) when none of them cuts the body (an ``http_abort`` without ``after_bytes`` acts
    before the response head instead).
    """
    limit = events = None
    for v in views:
        a = attrs(v) or {}
        n = a.get("after_bytes") if v.type == "http_abort" else a.get("bytes")
        if n is not None:
            limit = n if limit is None else min(limit, n)
        if v.type == "stream_cut" and a.get("events") is not None:
            events = a["events"] if events is None else min(events, a["events"])
    if limit is None and events is None:
        return None, []
    return Cutter(limit, events), list(views)
