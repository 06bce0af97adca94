"""Network faults: toxics and downed proxies on any Toxiproxy-compatible API.

The same objects drive the embedded proxy (``harness.proxy``) and a real
Toxiproxy server in staging, because both speak Toxiproxy's HTTP API.

Why httpx and not ``toxiproxy-python``: that client keeps the API host/port in
class attributes shared by the whole process (``APIConsumer.host``), so two faults on
two different servers would race; it builds the toxic body itself and drops any field
it does not know, so it cannot pass the ``ttl_s`` dead-man extension; it sets no
timeouts; and enabling/disabling a proxy cannot carry ``ttl_s`` either. The wire format
is tiny, so each fault makes its own short-lived httpx call (a fresh client per call
also keeps signal handlers that revert faults from re-entering a half-used connection
pool). The embedded server's tests use ``toxiproxy-python`` unmodified, which keeps the
two wire-compatible.

TTL semantics: a lease. Every fault is sent with a short ``ttl_s`` (``LEASE_S``, or the
fault's own TTL if shorter) and the ``FaultSession`` renews it about every second while
the fault is active, up to the fault's own TTL (its duration plus a margin). The
embedded server removes the toxic / re-enables the proxy itself when the lease runs
out, so after the injecting process dies (SIGKILL included) its faults are gone within
``LEASE_S`` seconds. A renewal sends only ``ttl_s``: the server then neither re-rolls
the toxicity of live connections nor takes down again a proxy someone re-enabled (an
emergency stop wins over the lease). A real Toxiproxy ignores the unknown field; there
the cleanup ledger is the only safety net, nothing is renewed, and
``server_enforces_ttl`` (read back from the server's answer) says which case applies.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from typing import Any, Literal
from urllib.parse import quote

import httpx

from harness.faults.base import Fault, FaultError, LeaseLost
from harness.redact import redact

__all__ = ["TOXIC_TYPES", "ProxyDownFault", "ToxicFault"]

#: TCP toxic types of Toxiproxy (HTTP toxic types are the embedded server's extension)
TOXIC_TYPES = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data")

#: seconds for one API call; faults must fail fast rather than hang a run
API_TIMEOUT_S = 5.0

#: the TTL each inject and renewal sends: how long a fault outlives the process that holds it
LEASE_S = 3.0
#: seconds one renewal may take; a renewal that needs longer is as good as missed (the
#: session retries a second later, and holding its lock longer would delay reverts)
RENEW_TIMEOUT_S = 1.0

Stream = Literal["upstream", "downstream"]


@functools.cache
def _tls() -> ssl.SSLContext:
    # building the default context costs ~80 ms; share one (read-only after creation)
    return ssl.create_default_context()


def _request(method: str, url: str, body: dict[str, Any] | None = None, *,
             timeout_s: float = API_TIMEOUT_S) -> httpx.Response:
    """One API call on a fresh connection; connection problems become ``FaultError``."""
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False, verify=_tls()) as client:
            return client.request(method, url, json=body)
    except httpx.HTTPError as exc:
        raise FaultError(f"proxy API {url} unreachable: {exc.__class__.__name__}: {exc}") from exc


def _error_text(resp: httpx.Response) -> str:
    """Toxiproxy answers ``{"error": "...", "status": N}``; fall back to the raw body."""
    try:
        data = resp.json()
        if isinstance(data, dict) and "error" in data:
            return str(data["error"])
    except (json.JSONDecodeError, ValueError):
        pass
    return resp.text[:200] or resp.reason_phrase


class _ProxyFault(Fault):
    """Shared plumbing: API URL and proxy name, URL building."""

    def __init__(self, api_url: str, proxy: str, *, fault_id: str, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError("network faults always carry a TTL (ttl_s > 0)")
        self.api_url = api_url.rstrip("/")
        self.proxy = proxy
        self.fault_id = fault_id
        self.ttl_s = float(ttl_s)
        #: True once the server echoed ``ttl_s`` back (the embedded server does; Toxiproxy does not)
        self.server_enforces_ttl: bool | None = None
        self._expires_at = 0.0  # monotonic end of the fault's own TTL; renewals stop there

    @property
    def lease_s(self) -> float:
        return min(self.ttl_s, LEASE_S)

    def _proxy_url(self) -> str:
        return f"{self.api_url}/proxies/{quote(self.proxy, safe='')}"

    def _started(self, resp: httpx.Response) -> None:
        self._expires_at = time.monotonic() + self.ttl_s
        try:
            self.server_enforces_ttl = "ttl_s" in resp.json()
        except (json.JSONDecodeError, ValueError):
            self.server_enforces_ttl = False

    @property
    def renewable(self) -> bool:
        """Whether the session should still renew the lease: the server enforces ``ttl_s``
        and the fault's own TTL is not over (after that the server may let it expire)."""
        return bool(self.server_enforces_ttl) and self._expires_at > time.monotonic()

    def renew(self) -> None:
        """Extend the lease by ``lease_s`` (never past the fault's own TTL).

        Raises ``LeaseLost`` when the server no longer has the fault (the lease ran out,
        or someone removed the toxic / re-enabled the proxy): renewing cannot bring it
        back, and must not. Raises ``FaultError`` when the API could not be reached; a
        later renewal may still succeed within the lease.
        """
        left = self._expires_at - time.monotonic()
        if not self.server_enforces_ttl or left <= 0:
            return
        self._extend(min(self.lease_s, left))

    def _extend(self, ttl_s: float) -> None:
        raise NotImplementedError


class ToxicFault(_ProxyFault):
    """One toxic (TCP or HTTP type) on one proxy, named after the fault id.

    ``inject`` is idempotent: a 409 for a toxic of the same name means it is already on.
    ``revert`` deletes it; a 404 (expired by TTL, removed by a reset, proxy gone) is fine.
    """

    def __init__(
        self,
        api_url: str,
        proxy: str,
        toxic_type: str,
        *,
        fault_id: str,
        ttl_s: float,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(api_url, proxy, fault_id=fault_id, ttl_s=ttl_s)
        if stream not in ("upstream", "downstream"):
            raise ValueError(f"stream must be 'upstream' or 'downstream', not {stream!r}")
        if not 0.0 <= toxicity <= 1.0:
            raise ValueError(f"toxicity must be within 0..1, not {toxicity!r}")
        self.type = toxic_type
        self.stream: Stream = stream
        self.toxicity = float(toxicity)
        self.attributes = dict(attributes or {})

    @property
    def toxic_name(self) -> str:
        return self.fault_id

    def toxic_body(self) -> dict[str, Any]:
        """The JSON sent to ``POST /proxies/{proxy}/toxics``."""
        return {
            "name": self.toxic_name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes,
            "ttl_s": self.lease_s,
        }

    def inject(self) -> None:
        resp = _request("POST", f"{self._proxy_url()}/toxics", self.toxic_body())
        if resp.status_code == 409:
            # same name already there: injected before, or left by a dead run of the same scenario
            # (fault ids repeat across runs). Make it ours: current attributes and a fresh TTL.
            update = {k: v for k, v in self.toxic_body().items() if k in ("toxicity", "attributes", "ttl_s")}
            resp = _request("POST", f"{self._proxy_url()}/toxics/{quote(self.toxic_name, safe='')}", update)
        if resp.status_code == 404:
            raise FaultError(f"proxy {self.proxy!r} not found on {self.api_url}: {_error_text(resp)}")
        if resp.status_code >= 400:
            raise FaultError(
                f"proxy {self.proxy!r} refused toxic {self.type!r} ({resp.status_code}): {_error_text(resp)}"
            )
        self._started(resp)

    def _extend(self, ttl_s: float) -> None:
        resp = _request("POST", f"{self._proxy_url()}/toxics/{quote(self.toxic_name, safe='')}", {"ttl_s": ttl_s},
                        timeout_s=RENEW_TIMEOUT_S)
        if resp.status_code == 404:
            raise LeaseLost(f"toxic {self.toxic_name!r} is gone from proxy {self.proxy!r} "
                            f"(its lease ran out or someone removed it); not renewing it")
        if resp.status_code >= 300:
            raise FaultError(f"renewing toxic {self.toxic_name!r} failed ({resp.status_code}): {_error_text(resp)}")

    def revert(self) -> None:
        resp = _request("DELETE", f"{self._proxy_url()}/toxics/{quote(self.toxic_name, safe='')}")
        if resp.status_code == 404 or resp.status_code < 300:
            return
        raise FaultError(
            f"removing toxic {self.toxic_name!r} from proxy {self.proxy!r} failed "
            f"({resp.status_code}): {_error_text(resp)}"
        )

    def ledger_entry(self) -> dict[str, Any]:
        return {
            "kind": "toxic",
            "fault_id": self.fault_id,
            "type": self.type,
            "ttl_s": self.ttl_s,
            "api_url": self.api_url,
            "proxy": self.proxy,
            "toxic": self.toxic_name,
            "stream": self.stream,
            "toxicity": self.toxicity,
            # reverting needs only the name; secrets (e.g. an injected Authorization header) stay off disk
            "attributes": redact(self.attributes),
        }

    @classmethod
    def from_ledger(cls, entry: dict[str, Any]) -> ToxicFault:
        return cls(
            entry["api_url"], entry["proxy"], entry["type"], fault_id=entry["fault_id"],
            ttl_s=entry["ttl_s"], stream=entry.get("stream", "downstream"),
            toxicity=entry.get("toxicity", 1.0), attributes=entry.get("attributes") or {},
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "proxy": self.proxy,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": redact(self.attributes),
            "server_enforces_ttl": self.server_enforces_ttl,
        }


class ProxyDownFault(_ProxyFault):
    """Take a proxy down (``enabled: false``): its listener closes and live connections drop.

    Reverting re-enables it. A 404 on revert (proxy removed meanwhile) is fine.
    """

    type = "down"

    def inject(self) -> None:
        resp = _request("POST", self._proxy_url(), {"enabled": False, "ttl_s": self.lease_s})
        if resp.status_code == 404:
            raise FaultError(f"proxy {self.proxy!r} not found on {self.api_url}: {_error_text(resp)}")
        if resp.status_code >= 400:
            raise FaultError(
                f"disabling proxy {self.proxy!r} failed ({resp.status_code}): {_error_text(resp)}"
            )
        self._started(resp)

    def _extend(self, ttl_s: float) -> None:
        # ttl only: a proxy someone re-enabled meanwhile stays up (the server ignores the TTL then)
        resp = _request("POST", self._proxy_url(), {"ttl_s": ttl_s}, timeout_s=RENEW_TIMEOUT_S)
        if resp.status_code == 404:
            raise LeaseLost(f"proxy {self.proxy!r} is gone from {self.api_url}; not renewing its downtime")
        if resp.status_code >= 300:
            raise FaultError(f"renewing the downtime of proxy {self.proxy!r} failed ({resp.status_code}): "
                             f"{_error_text(resp)}")
        try:
            enabled = resp.json().get("enabled")
        except (json.JSONDecodeError, ValueError, AttributeError):
            enabled = None
        if enabled is True:
            raise LeaseLost(f"proxy {self.proxy!r} is up again (its lease ran out or someone re-enabled it); "
                            f"not taking it down again")

    def revert(self) -> None:
        resp = _request("POST", self._proxy_url(), {"enabled": True})
        if resp.status_code == 404 or resp.status_code < 300:
            return
        raise FaultError(f"re-enabling proxy {self.proxy!r} failed ({resp.status_code}): {_error_text(resp)}")

    def ledger_entry(self) -> dict[str, Any]:
        return {
            "kind": "proxy_down",
            "fault_id": self.fault_id,
            "type": self.type,
            "ttl_s": self.ttl_s,
            "api_url": self.api_url,
            "proxy": self.proxy,
        }

    @classmethod
    def from_ledger(cls, entry: dict[str, Any]) -> ProxyDownFault:
        return cls(entry["api_url"], entry["proxy"], fault_id=entry["fault_id"], ttl_s=entry["ttl_s"])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "proxy": self.proxy, "server_enforces_ttl": self.server_enforces_ttl}
