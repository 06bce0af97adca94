"""Checking API input: Toxiproxy's error messages and codes, and the shape of every field.

Input arrives as parsed JSON of any shape; every check raises ``ApiError`` with
Toxiproxy's wording and status so the API answers exactly like Toxiproxy does.
"""

from __future__ import annotations

from typing import Any

from harness.proxy.http_rules import HTTP_TOXIC_TYPES, validate_http_toxic
from harness.proxy.toxics import TCP_TOXIC_TYPES, validate_tcp_toxic

MAX_TTL_S = 7 * 24 * 3600.0


class ApiError(Exception):
    """An API error with Toxiproxy's wording and HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status}


def bad_body(detail: str) -> ApiError:
    return ApiError(f"bad request body: {detail}", 400)


def missing(field: str) -> ApiError:
    return ApiError(f"missing required field: {field}", 400)


def proxy_not_found() -> ApiError:
    return ApiError("proxy not found", 404)


def toxic_not_found() -> ApiError:
    return ApiError("toxic not found", 404)


def split_hostport(value: str, field: str) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` / ``:port`` -> (host, port); ApiError 400 if malformed."""
    host, sep, port_s = value.rpartition(":")
    if not sep or not (port_s.isascii() and port_s.isdigit()) or int(port_s) > 65535:
        raise bad_body(f"{field} must be host:port, got {value!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host, int(port_s)


def validate_attributes(type_: str, attributes: Any, stream: str = "downstream") -> dict[str, Any]:
    """Normalized attributes for a TCP or HTTP toxic type; ApiError 400 otherwise."""
    if type_ in TCP_TOXIC_TYPES:
        try:
            return validate_tcp_toxic(type_, attributes)
        except ValueError as exc:
            raise bad_body(str(exc)) from None
    if type_ not in HTTP_TOXIC_TYPES:
        raise ApiError("invalid toxic type", 400)
    if attributes is not None and not isinstance(attributes, dict):
        raise bad_body("attributes must be a JSON object")
    try:
        return dict(validate_http_toxic(type_, dict(attributes or {}), stream=stream))
    except (ValueError, TypeError) as exc:
        raise bad_body(str(exc)) from None


def parse_toxicity(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise bad_body(f"field 'toxicity' must be a number between 0 and 1, got {value!r}")
    return float(value)


def parse_ttl(value: Any) -> float | None:
    """``ttl_s``: seconds > 0 (or null for none)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TTL_S:
        raise bad_body(f"field 'ttl_s' must be a number of seconds in (0, {MAX_TTL_S:.0f}], got {value!r}")
    return float(value)


def parse_proxy(body: Any, *, create: bool, where: str = "") -> dict[str, Any]:
    """Check a proxy JSON object; returns only the fields present (name/upstream required on create)."""
    if not isinstance(body, dict):
        raise bad_body("expected a JSON object" + where)
    spec: dict[str, Any] = {}
    for key in ("name", "listen", "upstream"):
        if key in body and body[key] is not None:
            if not isinstance(body[key], str):
                raise bad_body(f"field '{key}' must be a string{where}")
            spec[key] = body[key]
    if create:
        for key in ("name", "upstream"):
            if not spec.get(key):
                raise missing(key + where)
        if "/" in spec["name"]:
            raise bad_body(f"field 'name' must not contain '/'{where}")
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise bad_body(f"field 'enabled' must be true or false{where}")
        spec["enabled"] = body["enabled"]
    if "http" in body:
        # harness extension: relay every connection as HTTP/1.1 (see Proxy.http)
        if not isinstance(body["http"], bool):
            raise bad_body(f"field 'http' must be true or false{where}")
        spec["http"] = body["http"]
    if "record" in body:
        if body["record"] is not None and (not isinstance(body["record"], str) or not body["record"]):
            raise bad_body(f"field 'record' must be a file path or null{where}")
        spec["record"] = body["record"]
    if "ttl_s" in body:
        spec["ttl_s"] = parse_ttl(body["ttl_s"])
    return spec
