"""Toxiproxy 2.x HTTP API (plus the harness's ``ttl_s``, ``record`` and metrics extensions).

Starlette, served by uvicorn on the same event loop as the data path: the API is tiny and
rarely called, so sharing the loop costs nothing and removes all locking (see registry.py).
Routes, status codes and error bodies mirror Toxiproxy's api.go so existing clients
(toxiproxy-python, toxiproxy-go, ...) work unchanged. Every failure is a JSON
``{"error": ..., "status": ...}``; an unexpected exception becomes a 500 of the same
shape and is logged, never a dropped connection.

Harness extensions (ignored by Toxiproxy clients, which read only the fields they know):
- ``ttl_s`` on a toxic (create or update) or on a proxy set to ``enabled: false``: the
  server itself removes the toxic / re-enables the proxy after that many seconds; the JSON
  then shows ``ttl_s`` and ``expires_at`` (Unix time).
- ``record``: path of a JSONL file to record the proxy's HTTP exchanges to (null stops).
- ``metrics`` in every proxy's JSON and ``GET /metrics`` -> ``{"proxies": {name: metrics}}``:
  connections_total/active, bytes_upstream/downstream (bytes read from client/server),
  active_toxics.
- Toxic types from ``harness.proxy.http_toxics`` (``http_status`` ...) next to the TCP ones.
- Stricter than Toxiproxy where silence would hide a mistake: unknown attribute names,
  non-integer attributes and toxicity outside 0..1 are 400s.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness import __version__
from harness.proxy.registry import Registry
from harness.proxy.validation import ApiError, bad_body

log = logging.getLogger(__name__)

#: what ``GET /version`` reports: the Toxiproxy API level we follow, plus our own version
TOXIPROXY_VERSION = f"2.12.0+harness.{__version__}"


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def _error(err: ApiError) -> JSONResponse:
    return _json(err.body(), err.status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise bad_body("EOF")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise bad_body(str(exc).splitlines()[0] if str(exc) else "invalid JSON") from None


def build_app(registry: Registry) -> Starlette:
    """The API application bound to ``registry``."""

    async def proxy_index(request: Request) -> Response:
        return _json({name: p.to_json() for name, p in registry.proxies.items()})

    async def proxy_create(request: Request) -> Response:
        proxy = await registry.create(await _body(request))
        return _json(proxy.to_json(), 201)

    async def populate(request: Request) -> Response:
        try:
            proxies = await registry.populate(await _body(request))
        except ApiError as err:
            return _json({**err.body(), "proxies": []}, err.status)
        return _json({"proxies": [p.to_json() for p in proxies]}, 201)

    async def proxy_show(request: Request) -> Response:
        return _json(registry.get(request.path_params["proxy"]).to_json())

    async def proxy_update(request: Request) -> Response:
        proxy = await registry.update(request.path_params["proxy"], await _body(request))
        return _json(proxy.to_json())

    async def proxy_delete(request: Request) -> Response:
        await registry.delete(request.path_params["proxy"])
        return Response(status_code=204)

    async def toxic_index(request: Request) -> Response:
        proxy = registry.get(request.path_params["proxy"])
        return _json([t.to_json() for t in proxy.toxics_in_api_order()])

    async def toxic_create(request: Request) -> Response:
        registry.get(request.path_params["proxy"])  # 404 before body errors, as Toxiproxy
        toxic = registry.add_toxic(request.path_params["proxy"], await _body(request))
        return _json(toxic.to_json())

    async def toxic_show(request: Request) -> Response:
        proxy = registry.get(request.path_params["proxy"])
        toxic = proxy.find_toxic(request.path_params["toxic"])
        if toxic is None:
            raise ApiError("toxic not found", 404)
        return _json(toxic.to_json())

    async def toxic_update(request: Request) -> Response:
        proxy = registry.get(request.path_params["proxy"])
        if proxy.find_toxic(request.path_params["toxic"]) is None:
            raise ApiError("toxic not found", 404)
        toxic = registry.update_toxic(request.path_params["proxy"], request.path_params["toxic"],
                                      await _body(request))
        return _json(toxic.to_json())

    async def toxic_delete(request: Request) -> Response:
        registry.remove_toxic(request.path_params["proxy"], request.path_params["toxic"])
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        await registry.reset()
        return Response(status_code=204)

    async def version(request: Request) -> Response:
        return _json({"version": TOXIPROXY_VERSION})

    async def metrics(request: Request) -> Response:
        return _json({"proxies": registry.metrics()})

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _error(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _json({"error": str(exc.detail).lower(), "status": exc.status_code}, exc.status_code)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("proxy API error on %s %s", request.method, request.url.path)
        return _json({"error": f"internal error: {exc}", "status": 500}, 500)

    routes = [
        Route("/reset", reset, methods=["POST"]),
        Route("/proxies", proxy_index, methods=["GET"]),
        Route("/proxies", proxy_create, methods=["POST"]),
        Route("/populate", populate, methods=["POST"]),
        Route("/proxies/{proxy}", proxy_show, methods=["GET"]),
        Route("/proxies/{proxy}", proxy_update, methods=["POST", "PATCH"]),
        Route("/proxies/{proxy}", proxy_delete, methods=["DELETE"]),
        Route("/proxies/{proxy}/toxics", toxic_index, methods=["GET"]),
        Route("/proxies/{proxy}/toxics", toxic_create, methods=["POST"]),
        Route("/proxies/{proxy}/toxics/{toxic}", toxic_show, methods=["GET"]),
        Route("/proxies/{proxy}/toxics/{toxic}", toxic_update, methods=["POST", "PATCH"]),
        Route("/proxies/{proxy}/toxics/{toxic}", toxic_delete, methods=["DELETE"]),
        Route("/version", version, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={
        ApiError: on_api_error, HTTPException: on_http_error, Exception: on_crash})
    app.add_middleware(_StopBrowsers)
    return app


class _StopBrowsers:
    """Refuse browser user agents (403), as Toxiproxy does, so a web page cannot drive the API."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            agent = dict(scope.get("headers") or []).get(b"user-agent", b"")
            if agent.startswith(b"Mozilla/"):
                await Response("User agent not allowed\n", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
