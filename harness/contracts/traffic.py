"""Reading recorded traffic (the proxy's JSONL, or HAR) into uniform exchanges, and
grouping them into distinct request shapes for Pact generation.

The proxy recorder's line format (version 1) is documented in
``harness.proxy.recorder``; HAR 1.2 (browser dev tools, mitmproxy, schemathesis
``--report har``) is accepted too. Exchanges a fault altered (``toxics`` non-empty), that
failed (``error``) or got no response are skipped: they describe the fault, not the
provider's contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.errors import ConfigError
from harness.model.loader import read_text_file

# Headers worth keeping in a pact request: what a provider needs to route and parse the
# call. Credentials are never kept (the recorder already redacted their values).
KEEP_REQUEST_HEADERS = ("content-type", "accept", "a2a-version", "mcp-protocol-version", "idempotency-key")
_ID_SEGMENT = re.compile(r"\d")
_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)*$")


@dataclass
class Exchange:
    """One request/response pair, whatever the capture format."""

    proxy: str
    method: str
    path: str
    query: dict[str, list[str]]
    req_headers: dict[str, str]
    req_body: Any
    status: int
    resp_headers: dict[str, str]
    resp_body: Any
    source: str = ""

    @property
    def rpc_method(self) -> str | None:
        body = self.req_body
        if isinstance(body, dict) and body.get("jsonrpc") == "2.0" and isinstance(body.get("method"), str):
            return str(body["method"])
        return None

    @property
    def tool(self) -> str | None:
        body = self.req_body
        if self.rpc_method == "tools/call" and isinstance(body.get("params"), dict):
            name = body["params"].get("name")
            return str(name) if name is not None else None
        return None


@dataclass
class Shape:
    """Exchanges with the same request shape (and response status): one pact interaction."""

    proxy: str
    method: str
    template: str
    rpc_method: str | None
    tool: str | None
    status: int
    body_keys: tuple[str, ...] | None = None
    samples: list[Exchange] = field(default_factory=list)
    #: set by group_shapes when another shape shares the short description
    qualified: bool = False

    @property
    def short(self) -> str:
        what = f"{self.method} {self.template}"
        if self.rpc_method:
            what += f" {self.rpc_method}"
        if self.tool:
            what += f" {self.tool}"
        return f"{what} -> {self.status}"

    @property
    def description(self) -> str:
        """Unique within a pact: the short form, plus the body's keys when two shapes differ
        only by body (e.g. a call with and without an optional field)."""
        if self.qualified and self.body_keys is not None:
            return f"{self.short} {{{','.join(self.body_keys)}}}"
        return self.short


def path_template(path: str) -> str:
    """``/orders/O-42/status`` -> ``/orders/{id}/status``: segments with digits are ids
    (version segments such as ``v1`` are kept)."""
    parts = []
    for seg in path.split("/"):
        parts.append("{id}" if seg and _ID_SEGMENT.search(seg) and not _VERSION_SEGMENT.match(seg) else seg)
    return "/".join(parts)


def _decode(body: Any, encoding: str | None) -> Any:
    if encoding == "json" or encoding is None:
        return body
    if encoding == "none":
        return None
    return body  # text (or base64 text): kept as the string it is


def _lower(headers: Any) -> dict[str, str]:
    if isinstance(headers, dict):
        return {str(k).lower(): str(v) for k, v in headers.items()}
    if isinstance(headers, list):  # HAR: [{"name":..,"value":..}] or [[k, v]]
        out: dict[str, str] = {}
        for h in headers:
            k, v = (h.get("name"), h.get("value")) if isinstance(h, dict) else (h[0], h[1])
            out[str(k).lower()] = str(v)
        return out
    return {}


def _from_recorder_line(obj: dict[str, Any], where: str) -> Exchange | None:
    if obj.get("toxics") or obj.get("error") or not obj.get("response"):
        return None
    req, resp = obj.get("request") or {}, obj["response"]
    if req.get("body_truncated") or resp.get("body_truncated"):
        return None
    try:
        return Exchange(
            proxy=str(obj.get("proxy") or "unknown"), method=str(req["method"]).upper(), path=str(req["path"]),
            query={str(k): list(v) for k, v in (req.get("query") or {}).items()},
            req_headers=_lower(req.get("headers")), req_body=_decode(req.get("body"), req.get("body_encoding")),
            status=int(resp["status"]), resp_headers=_lower(resp.get("headers")),
            resp_body=_decode(resp.get("body"), resp.get("body_encoding")), source=where)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"not a recorded exchange: missing or bad {exc}", path=where) from None


def _json_or_text(text: Any, ctype: str) -> Any:
    if not isinstance(text, str) or not text:
        return None
    if "json" in ctype:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _redact(value: Any) -> Any:
    """HAR files are not redacted by anyone before us (the proxy recorder already is):
    apply the recorder's body rules so no credential reaches a pact file."""
    from harness.proxy.recorder import redact_body

    return redact_body(value)


def _from_har(doc: dict[str, Any], path: str, provider: str | None) -> Iterator[Exchange]:
    from harness.proxy.recorder import redact_headers, redact_query

    for i, entry in enumerate(doc.get("log", {}).get("entries", [])):
        req, resp = entry.get("request") or {}, entry.get("response") or {}
        if not resp.get("status"):
            continue
        url = urlsplit(str(req.get("url", "")))
        req_h, resp_h = redact_headers(_lower(req.get("headers"))), redact_headers(_lower(resp.get("headers")))
        post = req.get("postData") or {}
        content = resp.get("content") or {}
        yield Exchange(
            proxy=provider or url.netloc or "unknown", method=str(req.get("method", "GET")).upper(),
            path=url.path or "/", query=redact_query(parse_qs(url.query)),
            req_headers=req_h, req_body=_redact(_json_or_text(post.get("text"), post.get("mimeType", ""))),
            status=int(resp["status"]), resp_headers=resp_h,
            resp_body=_redact(_json_or_text(content.get("text"), content.get("mimeType", ""))),
            source=f"{path}#entry{i}")


def read_exchanges(paths: Iterable[str | Path], *, har_provider: str | None = None) -> list[Exchange]:
    """All usable exchanges from recorder JSONL files and HAR files (format by content)."""
    out: list[Exchange] = []
    for raw in paths:
        p = Path(raw)
        text = read_text_file(p, "recording")
        stripped = text.lstrip()
        if stripped.startswith("{") and '"log"' in stripped[:200]:
            try:
                out.extend(_from_har(json.loads(text), str(p), har_provider))
                continue
            except ValueError as exc:
                raise ConfigError(f"invalid HAR JSON: {exc}", path=str(p)) from None
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"invalid JSON line: {exc}", path=str(p), line=n) from None
            if not isinstance(obj, dict):
                raise ConfigError("expected a JSON object per line", path=str(p), line=n)
            ex = _from_recorder_line(obj, f"{p}:{n}")
            if ex is not None:
                out.append(ex)
    return out


def _body_keys(ex: Exchange) -> tuple[str, ...] | None:
    """Top-level keys of a plain JSON object body (JSON-RPC bodies are told apart by method)."""
    if isinstance(ex.req_body, dict) and ex.rpc_method is None:
        return tuple(sorted(map(str, ex.req_body)))
    return None


def group_shapes(exchanges: Iterable[Exchange]) -> list[Shape]:
    """Group by (proxy, method, path template, JSON-RPC method, tool, body keys, status),
    keeping first-seen order."""
    shapes: dict[tuple[Any, ...], Shape] = {}
    for ex in exchanges:
        keys = _body_keys(ex)
        key = (ex.proxy, ex.method, path_template(ex.path), ex.rpc_method, ex.tool, keys, ex.status)
        if key not in shapes:
            shapes[key] = Shape(ex.proxy, ex.method, key[2], ex.rpc_method, ex.tool, ex.status, keys)
        shapes[key].samples.append(ex)
    seen: dict[tuple[str, str], int] = {}
    for shape in shapes.values():
        seen[(shape.proxy, shape.short)] = seen.get((shape.proxy, shape.short), 0) + 1
    for shape in shapes.values():
        shape.qualified = seen[(shape.proxy, shape.short)] > 1
    return list(shapes.values())
