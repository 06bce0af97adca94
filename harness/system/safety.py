"""The safety envelope: which targets the harness may touch, and whether the environment allows faults.

Loopback is always fine; anything else only when ``system.yaml`` allowlists it
(``safety.allow_targets``); a ``production`` environment only with the explicit
override flag, which the caller writes to the journal. This needs nothing but the
system model, so both the system layer (attaching to a target) and the fault layer
(before building a fault) use it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness.errors import SafetyError
from harness.model.system import SystemSpec

__all__ = [
    "OVERRIDE_FLAG",
    "PRODUCTION_NAMES",
    "EnvironmentCheck",
    "check_environment",
    "check_safety",
    "check_target",
    "is_loopback",
    "parse_host",
]

PRODUCTION_NAMES = frozenset({"production", "prod"})
OVERRIDE_FLAG = "--i-know-this-is-production"

_BAD_NETLOC = frozenset("\\ \t\r\n%")


def parse_host(url_or_host: str) -> str:
    """The host a URL, ``host:port``, ``[v6]:port`` or bare host refers to, lowercased.

    Ambiguous inputs that different URL parsers read differently (backslashes,
    whitespace, percent-encoding or control characters in the authority) are refused
    rather than guessed at.
    """
    text = url_or_host.strip()
    if not text or any(ord(c) < 32 or c == "\x7f" for c in text):
        raise SafetyError(f"target {url_or_host!r} is not a valid host or URL")
    if "://" not in text:
        if text.count(":") > 1 and not text.startswith("["):
            text = f"[{text}]"  # bare IPv6 address
        text = f"//{text}"
    try:
        parts = urlsplit(text)
        if _BAD_NETLOC & set(parts.netloc):
            raise SafetyError(
                f"target {url_or_host!r} has an ambiguous authority; write plain scheme://host:port")
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise SafetyError(f"target {url_or_host!r} is not a valid host or URL: {exc}") from exc
    host = (host or "").rstrip(".").lower()
    if not host:
        raise SafetyError(f"target {url_or_host!r} names no host")
    return host


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1, IPv4-mapped loopback, and the name ``localhost``.

    Only canonical address forms count: ``127.1`` or ``0x7f.1`` are treated as names
    (and so need the allowlist), which errs on the safe side.
    """
    if host == "localhost":
        return True
    addr = _ip(host)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def _allowed(host: str, allow: list[str]) -> bool:
    addr = _ip(host)
    for item in allow:
        item = item.strip().lower()
        if not item:
            continue
        if "/" in item and "://" not in item:
            try:
                if addr is not None and addr in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if item.startswith("*."):
            suffix = item[1:].rstrip(".")
            if addr is None and host.endswith(suffix) and len(host) > len(suffix):
                return True
            continue
        try:
            allowed_host = parse_host(item)
        except SafetyError:
            continue
        if allowed_host == host:
            return True
        allowed_ip = _ip(allowed_host)
        if addr is not None and allowed_ip is not None and allowed_ip == addr:
            return True
    return False


def check_target(url_or_host: str, system: SystemSpec) -> str:
    """Return the host if the harness may touch it, else raise ``SafetyError``."""
    host = parse_host(url_or_host)
    if is_loopback(host) or _allowed(host, system.safety.allow_targets):
        return host
    raise SafetyError(
        f"target {host!r} (from {url_or_host!r}) is outside loopback and not allowlisted; "
        f"add it to safety.allow_targets in system.yaml to allow it"
    )


@dataclass(frozen=True)
class EnvironmentCheck:
    """Outcome of ``check_environment``; the engine writes ``journal_fields()`` to the journal."""

    environment: str
    production: bool
    override_used: bool

    def __bool__(self) -> bool:
        """Truthy exactly when the production override was used (``if check: journal it``)."""
        return self.override_used

    def journal_fields(self) -> dict[str, Any]:
        return {"environment": self.environment, "production": self.production,
                "production_override": self.override_used}


def check_environment(system: SystemSpec, override: bool = False) -> EnvironmentCheck:
    """Refuse a production system unless the user passed the explicit override flag."""
    env = system.safety.environment.strip()
    production = env.lower() in PRODUCTION_NAMES
    if production and not override:
        raise SafetyError(
            f"system {system.name!r} declares safety.environment: {env}; refusing to inject faults. "
            f"Pass {OVERRIDE_FLAG} to run anyway (it is recorded in the journal)"
        )
    return EnvironmentCheck(env, production, production and override)


def check_safety(system: SystemSpec, *, allow_production: bool) -> dict[str, Any]:
    """Refuse non-allowlisted targets and production (unless overridden). Returns what to journal."""
    override = check_environment(system, override=allow_production)
    urls = [system.proxy.api_url]
    for svc in system.services:
        urls += [svc.base_url] + ([svc.health_url] if svc.health_url else [])
    if system.workflow:
        urls += [system.workflow.submit_url, system.workflow.status_url.replace("{id}", "x")]
    for url in urls:
        check_target(url, system)
    return override.journal_fields()
