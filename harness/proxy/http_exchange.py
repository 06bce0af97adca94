"""One request/response as the relay saw it, and the recorder line it becomes (docs/recording.md).

The relay fills an :class:`Exchange` while it forwards (the request as received, the response as
the *client* got it, after toxics) and hands it to :func:`record_line` once the exchange ended,
whether normally, cut by a toxic or broken by a peer.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from harness.proxy.http_parse import Head
from harness.proxy.recorder import encode_body, parse_query
from harness.proxy.types import ToxicView


class Exchange:
    """What the recorder gets for one request/response."""

    def __init__(self, head: Head, t_wall: float, t_mono: float) -> None:
        self.head, self.t_wall, self.t_mono = head, t_wall, t_mono
        self.req_body = b""
        self.req_size = 0
        self.resp_head: Head | None = None
        self.resp_headers: list[tuple[str, str]] | None = None  # set when a toxic rewrote them
        self.resp_body = bytearray()
        self.resp_size = 0
        self.applied: list[ToxicView] = []
        self.error: str | None = None


def record_line(ex: Exchange, proxy_name: str, cap: int) -> dict[str, Any]:
    """The version-1 recording line for ``ex``; bodies above ``cap`` bytes are stored truncated."""
    head = ex.head
    target = urlsplit(head.target) if "://" in head.target else None
    path, _, query = (f"{target.path}?{target.query}" if target else head.target).partition("?")
    request = {"method": head.method, "path": path, "query": parse_query(query),
               "headers": head.headers,
               **encode_body(ex.req_body, ex.req_size, head.get("content-type"), cap)}
    response = None
    if ex.resp_head is not None:
        headers = ex.resp_headers if ex.resp_headers is not None else ex.resp_head.headers
        ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
        response = {"status": ex.resp_head.status, "headers": headers,
                    **encode_body(bytes(ex.resp_body), ex.resp_size, ctype, cap)}
    return {
        "v": 1, "proxy": proxy_name, "t_wall": ex.t_wall, "t_mono": ex.t_mono,
        "latency_ms": round((time.monotonic() - ex.t_mono) * 1000, 3),
        "request": request, "response": response,
        "toxics": [{"name": v.name, "type": v.type} for v in ex.applied], "error": ex.error,
    }
