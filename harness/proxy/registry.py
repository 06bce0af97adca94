"""Proxies and toxics: the state behind the API, its validation, listeners and dead-man TTLs.

Everything here runs on the server's event loop, so there are no locks: API handlers
and the data path never run at the same time. Input arrives as parsed JSON of any
shape; every check raises ``ApiError`` with Toxiproxy's message and status code so the
API can answer exactly like Toxiproxy (``{"error": "...", "status": 409}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from harness.proxy.recorder import Recorder
from harness.proxy.relay import ClientSide, Connection, HttpClientSide
from harness.proxy.toxics import TCP_TOXIC_TYPES
from harness.proxy.types import ToxicView
from harness.proxy.validation import (
    ApiError,
    bad_body,
    parse_proxy,
    parse_toxicity,
    parse_ttl,
    proxy_not_found,
    split_hostport,
    toxic_not_found,
    validate_attributes,
)

__all__ = ["ApiError", "Proxy", "Registry", "Toxic", "set_recording"]

_ids = itertools.count(1)


class Toxic:
    """A toxic on a proxy. ``view`` is the single ToxicView the data path sees for its lifetime."""

    def __init__(self, view: ToxicView, ttl_s: float | None) -> None:
        self.id = next(_ids)
        self.view = view
        self.generation = 0  # bumped on update so live connections re-roll toxicity
        self.ttl_s = ttl_s
        self.expires_at: float | None = None
        self.timer: asyncio.TimerHandle | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": dict(self.view.attributes),
            "name": self.view.name,
            "type": self.view.type,
            "stream": self.view.stream,
            "toxicity": self.view.toxicity,
        }
        if self.ttl_s is not None:
            out["ttl_s"] = self.ttl_s
            out["expires_at"] = self.expires_at
        return out


class Proxy:
    """One listener forwarding to one upstream, with its toxics, connections and metrics."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name, self.listen, self.upstream = name, listen, upstream
        self.enabled = False
        self.toxics: list[Toxic] = []
        self.conns: set[Connection] = set()
        self.record: str | None = None
        self.recorder: Recorder | None = None
        # harness extension ``"http": true``: every connection goes through the HTTP-aware relay,
        # so HTTP toxics added later reach live keep-alive connections too (a connection that
        # started as a plain byte pump cannot be switched to HTTP mid-stream).
        self.http = False
        self.down_ttl_s: float | None = None
        self.down_expires_at: float | None = None
        self.down_timer: asyncio.TimerHandle | None = None
        self.connections_total = 0
        self._closed_up = 0
        self._closed_down = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._server is not None:
            return
        host, port = split_hostport(self.listen, "listen")
        loop = asyncio.get_running_loop()
        try:
            # An empty host means all interfaces in Toxiproxy; here it stays on loopback, and
            # "localhost" is pinned to IPv4 so port 0 cannot yield two sockets on two ports.
            bind = "127.0.0.1" if host in ("", "localhost") else host
            self._server = await loop.create_server(self._protocol, bind, port,
                                                    reuse_address=True, backlog=1024)
        except OSError as exc:
            status = 409 if exc.errno == errno.EADDRINUSE else 400
            raise ApiError(f"listen {self.listen}: {exc.strerror or exc}", status) from None
        bound = self._server.sockets[0].getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        self.listen = f"{shown}:{bound[1]}"
        self.enabled = True

    async def stop(self) -> None:
        """Stop listening and close every live connection (Toxiproxy's ``enabled: false``)."""
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self.conns):
            conn.close()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def upstream_hostport(self) -> tuple[str, int]:
        return split_hostport(self.upstream, "upstream")

    # --- data path hooks ---------------------------------------------------------------------
    def _protocol(self) -> asyncio.Protocol:
        # Decided per connection: HTTP-aware relaying when the proxy is declared HTTP, or when
        # recording or an HTTP toxic needs it.
        if self.http or self.recorder is not None or self.http_views():
            return HttpClientSide(self)
        return ClientSide(self)

    def connection_opened(self, conn: Connection) -> None:
        self.conns.add(conn)
        self.connections_total += 1

    def connection_closed(self, conn: Connection) -> None:
        if conn in self.conns:
            self.conns.discard(conn)
            up, down = _conn_bytes(conn)
            self._closed_up += up
            self._closed_down += down

    def tcp_toxics(self) -> list[Toxic]:
        return [t for t in self.toxics if t.view.type in TCP_TOXIC_TYPES]

    def http_views(self) -> Sequence[ToxicView]:
        return [t.view for t in self.toxics if t.view.type not in TCP_TOXIC_TYPES]

    def toxics_changed(self) -> None:
        tcp = self.tcp_toxics()
        for conn in list(self.conns):
            conn.sync_toxics(tcp)

    # --- views ---------------------------------------------------------------------------------
    def metrics(self) -> dict[str, int]:
        up, down = self._closed_up, self._closed_down
        for conn in self.conns:
            u, d = _conn_bytes(conn)
            up, down = up + u, down + d
        return {
            "connections_total": self.connections_total,
            "connections_active": len(self.conns),
            "bytes_upstream": up,
            "bytes_downstream": down,
            "active_toxics": len(self.toxics),
        }

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxics_in_api_order()],
            "record": self.record,
            "http": self.http,
            "metrics": self.metrics(),
        }
        if self.down_ttl_s is not None:
            out["ttl_s"] = self.down_ttl_s
            out["expires_at"] = self.down_expires_at
        return out

    def toxics_in_api_order(self) -> list[Toxic]:
        # Toxiproxy lists the upstream chain first, then downstream, each in insertion order.
        return ([t for t in self.toxics if t.view.stream == "upstream"]
                + [t for t in self.toxics if t.view.stream == "downstream"])

    def find_toxic(self, name: str) -> Toxic | None:
        return next((t for t in self.toxics if t.view.name == name), None)


def _conn_bytes(conn: Connection) -> tuple[int, int]:
    return conn.up.bytes, conn.down.bytes


class Registry:
    """All proxies of one server, keyed by name, with the operations the API exposes."""

    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise proxy_not_found()
        return proxy

    # --- proxies -------------------------------------------------------------------------------
    async def create(self, body: Any) -> Proxy:
        spec = parse_proxy(body, create=True)
        if spec["name"] in self.proxies:
            raise ApiError("proxy already exists", 409)
        proxy = Proxy(spec["name"], spec.get("listen") or "127.0.0.1:0", spec["upstream"])
        split_hostport(proxy.upstream, "upstream")
        try:
            await self._apply(proxy, spec, new=True)
        except ApiError:
            set_recording(proxy, None)
            raise
        self.proxies[proxy.name] = proxy
        return proxy

    async def populate(self, body: Any) -> list[Proxy]:
        if not isinstance(body, list):
            raise bad_body("populate expects a JSON array of proxies")
        specs = []
        for i, item in enumerate(body, 1):
            spec = parse_proxy(item, create=True, where=f" at proxy {i}")
            if any(s["name"] == spec["name"] for s in specs):
                raise bad_body(f"duplicate proxy name {spec['name']!r}")
            split_hostport(spec["upstream"], "upstream")
            split_hostport(spec.get("listen") or "127.0.0.1:0", "listen")
            specs.append(spec)
        out = []
        for spec in specs:
            existing = self.proxies.get(spec["name"])
            if existing is not None and existing.upstream == spec["upstream"] and \
                    existing.listen == spec.get("listen"):
                await self._apply(existing, spec, new=False)
                out.append(existing)
                continue
            if existing is not None:
                await self.delete(existing.name)
            out.append(await self.create(spec))
        return out

    async def update(self, name: str, body: Any) -> Proxy:
        proxy = self.get(name)
        spec = parse_proxy(body, create=False)
        await self._apply(proxy, spec, new=False)
        return proxy

    async def _apply(self, proxy: Proxy, spec: dict[str, Any], *, new: bool) -> None:
        if "http" in spec:
            proxy.http = spec["http"]
        if "record" in spec:
            set_recording(proxy, spec["record"])
        moved = False
        if not new:
            for key in ("listen", "upstream"):
                if key in spec and spec[key] != getattr(proxy, key):
                    if key == "upstream":
                        split_hostport(spec[key], "upstream")
                    setattr(proxy, key, spec[key])
                    moved = True
        enabled = spec.get("enabled", True if new else proxy.enabled)
        if moved and proxy.enabled:
            await proxy.stop()
        if enabled:
            self._cancel_down_ttl(proxy)
            if not proxy.enabled:
                await proxy.start()
        else:
            if proxy.enabled or new:
                await proxy.stop()
            if "ttl_s" in spec:
                self._set_down_ttl(proxy, spec["ttl_s"])

    async def delete(self, name: str) -> None:
        proxy = self.get(name)
        del self.proxies[name]
        self._cancel_down_ttl(proxy)
        for toxic in proxy.toxics:
            _cancel_timer(toxic)
        proxy.toxics.clear()
        await proxy.stop()
        set_recording(proxy, None)

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (Toxiproxy's ``POST /reset``)."""
        for proxy in self.proxies.values():
            self._cancel_down_ttl(proxy)
            if not proxy.enabled:
                await proxy.start()
            for toxic in proxy.toxics:
                _cancel_timer(toxic)
            proxy.toxics.clear()
            proxy.toxics_changed()

    async def close(self) -> None:
        for name in list(self.proxies):
            await self.delete(name)

    def _set_down_ttl(self, proxy: Proxy, ttl_s: float | None) -> None:
        self._cancel_down_ttl(proxy)
        if ttl_s is None:
            return
        proxy.down_ttl_s = ttl_s
        proxy.down_expires_at = time.time() + ttl_s
        loop = asyncio.get_running_loop()
        proxy.down_timer = loop.call_later(ttl_s, lambda: proxy.spawn(self._expire_down(proxy)))

    async def _expire_down(self, proxy: Proxy) -> None:
        proxy.down_timer = None
        if self.proxies.get(proxy.name) is proxy and not proxy.enabled:
            self._cancel_down_ttl(proxy)
            with contextlib.suppress(ApiError):  # e.g. the port was taken meanwhile; stays down
                await proxy.start()

    @staticmethod
    def _cancel_down_ttl(proxy: Proxy) -> None:
        if proxy.down_timer is not None:
            proxy.down_timer.cancel()
        proxy.down_timer = None
        proxy.down_ttl_s = proxy.down_expires_at = None

    # --- toxics --------------------------------------------------------------------------------
    def add_toxic(self, proxy_name: str, body: Any) -> Toxic:
        proxy = self.get(proxy_name)
        if not isinstance(body, dict):
            raise bad_body("expected a JSON object")
        stream = body.get("stream", "downstream")
        if stream not in ("upstream", "downstream"):
            raise ApiError("stream was invalid, can be either upstream or downstream", 400)
        type_ = body.get("type")
        if not isinstance(type_, str) or not type_:
            raise ApiError("invalid toxic type", 400)
        name = body.get("name") or f"{type_}_{stream}"
        if not isinstance(name, str):
            raise bad_body("field 'name' must be a string")
        toxicity = parse_toxicity(body.get("toxicity", 1.0))
        attributes = validate_attributes(type_, body.get("attributes"), stream)
        ttl_s = parse_ttl(body.get("ttl_s"))
        if proxy.find_toxic(name) is not None:
            raise ApiError("toxic already exists", 409)
        toxic = Toxic(ToxicView(name=name, type=type_, stream=stream, toxicity=toxicity,
                                attributes=attributes), ttl_s)
        proxy.toxics.append(toxic)
        self._arm_ttl(proxy, toxic)
        proxy.toxics_changed()
        return toxic

    def update_toxic(self, proxy_name: str, toxic_name: str, body: Any) -> Toxic:
        proxy = self.get(proxy_name)
        toxic = proxy.find_toxic(toxic_name)
        if toxic is None:
            raise toxic_not_found()
        if not isinstance(body, dict):
            raise bad_body("expected a JSON object")
        merged = dict(toxic.view.attributes)
        attrs = body.get("attributes", {})
        if attrs is not None and not isinstance(attrs, dict):
            raise bad_body("field 'attributes' must be an object")
        merged.update(attrs or {})
        attributes = validate_attributes(toxic.view.type, merged, toxic.view.stream)
        toxicity = parse_toxicity(body.get("toxicity", toxic.view.toxicity))
        if "ttl_s" in body:
            toxic.ttl_s = parse_ttl(body["ttl_s"])
        # Same ToxicView object on purpose: its ``state`` must survive updates.
        toxic.view.attributes = attributes
        toxic.view.toxicity = toxicity
        if set(body) - {"ttl_s"}:  # a lease renewal (ttl only) must not re-roll live connections
            toxic.generation += 1
        if "ttl_s" in body:
            self._arm_ttl(proxy, toxic)
        proxy.toxics_changed()
        return toxic

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        proxy = self.get(proxy_name)
        toxic = proxy.find_toxic(toxic_name)
        if toxic is None:
            raise toxic_not_found()
        _cancel_timer(toxic)
        proxy.toxics.remove(toxic)
        proxy.toxics_changed()

    def _arm_ttl(self, proxy: Proxy, toxic: Toxic) -> None:
        _cancel_timer(toxic)
        if toxic.ttl_s is None:
            toxic.expires_at = None
            return
        toxic.expires_at = time.time() + toxic.ttl_s

        def expire() -> None:
            toxic.timer = None
            if proxy.find_toxic(toxic.view.name) is toxic and self.proxies.get(proxy.name) is proxy:
                proxy.toxics.remove(toxic)
                proxy.toxics_changed()

        toxic.timer = asyncio.get_running_loop().call_later(toxic.ttl_s, expire)

    def metrics(self) -> dict[str, dict[str, int]]:
        return {name: proxy.metrics() for name, proxy in self.proxies.items()}


def _cancel_timer(toxic: Toxic) -> None:
    if toxic.timer is not None:
        toxic.timer.cancel()
        toxic.timer = None


def set_recording(proxy: Proxy, path: str | None) -> None:
    """Switch traffic recording for ``proxy`` to ``path`` (None stops it)."""
    if path == proxy.record:
        return
    if path is not None:
        try:
            recorder: Recorder | None = Recorder(Path(path))
        except OSError as exc:
            raise bad_body(f"field 'record': cannot open {path!r}: {exc.strerror or exc}") from None
    else:
        recorder = None
    if proxy.recorder is not None:
        with contextlib.suppress(Exception):
            proxy.recorder.close()
    proxy.recorder, proxy.record = recorder, path
