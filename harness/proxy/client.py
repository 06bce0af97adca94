"""``ProxyClient``: a small synchronous client of the Toxiproxy HTTP API, for the embedded
proxy and for a real Toxiproxy alike.

Why not ``toxiproxy-python``: it keeps the API address in class attributes shared by the
whole process, drops fields it does not know (so no ``ttl_s``, ``http`` or ``record``, the
embedded server's extensions) and sets no timeouts. This client is explicit about all
three, answers Python objects (the API's own JSON) and turns an error answer into a
``ProxyApiError`` carrying the status and Toxiproxy's ``error`` text.

Faults do not go through it: ``harness.faults.network`` makes its own calls because a
fault's revert must open a fresh connection even from a signal handler.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import httpx

from harness.errors import HarnessError

__all__ = ["ProxyApiError", "ProxyClient"]

Stream = Literal["upstream", "downstream"]


class ProxyApiError(HarnessError):
    """The proxy API answered an error (``status``) or could not be reached (``status`` None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProxyClient:
    """``with ProxyClient("http://127.0.0.1:8474") as api: api.add_toxic("orders", "latency", latency=200)``."""

    def __init__(self, api_url: str, *, timeout_s: float = 5.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._http = httpx.Client(base_url=self.api_url, timeout=timeout_s, trust_env=False)

    def __enter__(self) -> ProxyClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            resp = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ProxyApiError(f"proxy API {self.api_url} unreachable: {type(exc).__name__}: {exc}") from None
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("error", resp.text)
            except ValueError:
                detail = resp.text
            raise ProxyApiError(f"{method} {path}: HTTP {resp.status_code}: {str(detail)[:200]}", resp.status_code)
        return resp.json() if resp.content else None

    # -- server ----------------------------------------------------------------------------
    def version(self) -> str:
        resp = self._http.get("/version")
        return resp.text.strip()

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (Toxiproxy's ``POST /reset``)."""
        self._call("POST", "/reset")

    # -- proxies ---------------------------------------------------------------------------
    def proxies(self) -> dict[str, dict[str, Any]]:
        return self._call("GET", "/proxies")

    def create_proxy(self, name: str, listen: str, upstream: str, *, enabled: bool = True,
                     http: bool = False) -> dict[str, Any]:
        """One proxy; ``http=True`` switches on the embedded server's HTTP-aware mode."""
        body: dict[str, Any] = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        if http:
            body["http"] = True
        return self._call("POST", "/proxies", body)

    def populate(self, proxies: list[dict[str, Any]]) -> Any:
        """Create or replace several proxies at once (Toxiproxy's ``POST /populate``)."""
        return self._call("POST", "/populate", proxies)

    def update_proxy(self, name: str, **fields: Any) -> dict[str, Any]:
        """E.g. ``enabled=False``, ``upstream=...``, or the embedded server's ``record=PATH``."""
        return self._call("POST", f"/proxies/{quote(name, safe='')}", fields)

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{quote(name, safe='')}")

    # -- toxics ----------------------------------------------------------------------------
    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/proxies/{quote(proxy, safe='')}/toxics")

    def add_toxic(self, proxy: str, type: str, *, name: str | None = None, stream: Stream = "downstream",
                  toxicity: float = 1.0, ttl_s: float | None = None, **attributes: Any) -> dict[str, Any]:
        """A toxic of ``type`` with its ``attributes``; ``ttl_s`` (embedded server) removes it
        by itself after that many seconds, so it outlives no crashed caller."""
        body: dict[str, Any] = {"type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        if name is not None:
            body["name"] = name
        if ttl_s is not None:
            body["ttl_s"] = ttl_s
        return self._call("POST", f"/proxies/{quote(proxy, safe='')}/toxics", body)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{quote(proxy, safe='')}/toxics/{quote(name, safe='')}")
