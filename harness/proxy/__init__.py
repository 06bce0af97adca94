"""Embedded Toxiproxy-compatible proxy server (docs/faults.md, docs/http-toxics.md).

Public API:
- ``ProxyServer`` (async, in a running loop), ``BackgroundProxy`` (own thread, sync callers),
  ``run()`` (blocking, signal-aware) — all in ``harness.proxy.server``;
- ``python -m harness.proxy --host 127.0.0.1 --port PORT`` and ``harness proxy serve``.
Imports here stay light: the server modules load starlette/uvicorn only when used.

Modules: ``server`` (entry points), ``api`` (Toxiproxy HTTP API), ``registry`` (proxies,
toxics, TTLs, metrics), ``validation`` (input checks, Toxiproxy error bodies), ``relay``
(the data path: ``flow`` per direction, ``sides`` per socket), ``toxics`` (TCP toxic
stages), ``http_toxics`` (the HTTP-aware relay and its toxics) and ``recorder`` (traffic
recording).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BackgroundProxy", "ProxyServer", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from harness.proxy import server

        return getattr(server, name)
    raise AttributeError(name)
