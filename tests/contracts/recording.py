"""Record real HTTP calls in the proxy recorder's JSONL format (version 1), for tests that
need a recording without running the proxy. The calls themselves are real (httpx to a
live server); only the writing of the line happens here instead of in the proxy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx


def _body(content: bytes, ctype: str) -> dict[str, Any]:
    if not content:
        return {"body": None, "body_encoding": "none", "body_size": 0, "body_truncated": False}
    if "json" in ctype:
        try:
            return {"body": json.loads(content), "body_encoding": "json", "body_size": len(content),
                    "body_truncated": False}
        except ValueError:
            pass
    return {"body": content.decode("utf-8", "replace"), "body_encoding": "text", "body_size": len(content),
            "body_truncated": False}


class RecordingClient(httpx.Client):
    """httpx client appending one recorder line per exchange to ``path`` as ``proxy``."""

    def __init__(self, path: Path, proxy: str, **kwargs: Any) -> None:
        super().__init__(trust_env=False, timeout=15, **kwargs)
        self.path, self.proxy = path, proxy

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        t0 = time.monotonic()
        resp = super().send(request, **kwargs)
        resp.read()
        line = {
            "v": 1, "proxy": self.proxy, "t_wall": time.time(), "t_mono": t0,
            "latency_ms": (time.monotonic() - t0) * 1000,
            "request": {"method": request.method, "path": request.url.path,
                        "query": parse_qs(request.url.query.decode()),
                        "headers": {k.lower(): v for k, v in request.headers.items()},
                        **_body(request.content, request.headers.get("content-type", ""))},
            "response": {"status": resp.status_code, "headers": {k.lower(): v for k, v in resp.headers.items()},
                         **_body(resp.content, resp.headers.get("content-type", ""))},
            "toxics": [], "error": None,
        }
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        return resp
