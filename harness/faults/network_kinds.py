"""The network and HTTP fault kinds: Toxiproxy's TCP toxics, a downed proxy, the embedded
proxy's HTTP toxics. Each kind is one ``FaultKind`` (params model, builder, docs line);
``KINDS`` is what the catalog (``harness.faults.catalog``) registers.

Every kind lands on an edge of ``system.yaml`` that runs through a proxy on the
system's proxy API. TCP attribute names and their Go zero defaults are Toxiproxy's;
HTTP toxic attributes are described in docs/http-toxics.md and checked once more by the
embedded server's own validator, so a spec the server would refuse fails before a run.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from harness.errors import ConfigError
from harness.faults.base import Fault, FaultKind, FaultParams, FaultRequest
from harness.faults.network import ProxyDownFault, ToxicFault
from harness.model.system import Edge
from harness.proxy.http_rules import validate_http_toxic
from harness.system.safety import check_target

__all__ = ["KINDS"]


def _non_negative_int(value: Any) -> Any:
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or value < 0 or value != int(value)):
        raise ValueError(f"must be a non-negative integer, not {value!r}")
    return int(value)


#: a Toxiproxy attribute: every TCP toxic attribute is an integer >= 0 (Go zero value by default)
ToxicInt = Annotated[int, BeforeValidator(_non_negative_int), Field(ge=0)]


class LatencyParams(FaultParams):
    latency: ToxicInt = Field(default=0, description="added delay per chunk, ms")
    jitter: ToxicInt = Field(default=0, description="random +- ms on top of latency")


class BandwidthParams(FaultParams):
    rate: ToxicInt = Field(default=0, description="KB/s")


class SlowCloseParams(FaultParams):
    delay: ToxicInt = Field(default=0, description="ms to wait before closing")


class TimeoutParams(FaultParams):
    timeout: ToxicInt = Field(default=0, description="ms until the connection is closed; 0 = never, data stops")


class SlicerParams(FaultParams):
    average_size: ToxicInt = Field(default=0, description="bytes per slice")
    size_variation: ToxicInt = Field(default=0, description="bytes +- per slice")
    delay: ToxicInt = Field(default=0, description="microseconds between slices")


class LimitDataParams(FaultParams):
    bytes: ToxicInt = Field(default=0, description="bytes after which the connection is closed")


class NoParams(FaultParams):
    """A kind that takes no params."""


Globs = str | list[str] | None


class HttpMatch(FaultParams):
    """The matchers and the roll every HTTP toxic shares (docs/http-toxics.md)."""

    method: Globs = Field(default=None, description="HTTP method(s) to match")
    path: Globs = Field(default=None, description="fnmatch glob(s) on the request path")
    jsonrpc_method: Globs = Field(default=None, description="A2A JSON-RPC method(s)")
    tool: Globs = Field(default=None, description="MCP tools/call tool name(s)")
    probability: float = Field(default=1.0, ge=0.0, le=1.0, description="chance per matching request")
    seed: int | None = Field(default=None, description="makes the rolls reproducible")


class HttpStatusParams(HttpMatch):
    status: int = Field(default=503, ge=200, le=599)
    headers: dict[str, str | int | float] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] = ""


class HttpAbortParams(HttpMatch):
    after_bytes: int | None = Field(default=None, ge=0, description="bytes of the response sent first")
    reset: bool = Field(default=False, description="RST instead of FIN")


class HttpDelayParams(HttpMatch):
    delay_ms: float = Field(default=1000, ge=0)
    jitter_ms: float = Field(default=0, ge=0)


class JsonTruncateParams(HttpMatch):
    fraction: float | None = Field(default=None, description="share of the body kept (default 0.5)")
    bytes: int | None = Field(default=None, ge=0, description="bytes of the body kept")


class JsonMalformParams(HttpMatch):
    mode: str = Field(default="trailing_garbage", description="trailing_garbage | drop_closing | html")


class SchemaDriftParams(HttpMatch):
    pointer: str | None = Field(default=None, description="JSON pointer of the key to change")
    op: str = Field(default="remove", description="remove | rename | retype")
    to: str | None = Field(default=None, description="new key (rename) or JSON type (retype)")


class WrongValueParams(HttpMatch):
    pointer: str | None = Field(default=None, description="JSON pointer of the value to replace")
    value: Any = None


class FailFirstNParams(HttpStatusParams):
    n: int = Field(default=1, ge=1, description="matching requests that fail before the rest pass")


class StreamCutParams(HttpMatch):
    events: int | None = Field(default=None, ge=0, description="SSE events sent before the cut")
    bytes: int | None = Field(default=None, ge=0, description="bytes sent before the cut")
    reset: bool = False


def _edge(request: FaultRequest) -> Edge:
    """The spec's edge, with a proxy, whose API and upstream are inside the safety envelope."""
    spec, system = request.spec, request.system
    assert spec.target.edge is not None  # the catalog checked the target's family
    try:
        edge = system.edge(spec.target.edge)
    except KeyError:
        known = sorted(e.name for e in system.edges)
        raise ConfigError(f"{request.where}: unknown edge {spec.target.edge!r}; known: {known}",
                          field="target.edge") from None
    if not edge.proxy:
        raise ConfigError(f"{request.where}: edge {edge.name} has no proxy; set edges[].proxy in system.yaml",
                          field="target.edge")
    check_target(system.proxy.api_url, system)
    if edge.upstream:
        check_target(edge.upstream, system)
    return edge


def _toxic(request: FaultRequest, attributes: dict[str, Any]) -> Fault:
    edge, spec = _edge(request), request.spec
    return ToxicFault(request.system.proxy.api_url, str(edge.proxy), spec.type, fault_id=request.fault_id,
                      ttl_s=request.ttl_s, stream=spec.stream, toxicity=spec.toxicity, attributes=attributes)


def build_tcp_toxic(request: FaultRequest) -> Fault:
    """Only the attributes the user set are sent; the server fills in Toxiproxy's zero values."""
    return _toxic(request, request.params.model_dump(exclude_unset=True))


_ATTRIBUTE = re.compile(r"attribute '([^']+)'")


def build_http_toxic(request: FaultRequest) -> Fault:
    """Checked by the embedded server's validator too; what the user wrote is sent as written."""
    spec = request.spec
    try:
        validate_http_toxic(spec.type, dict(spec.params), stream=spec.stream)
    except ValueError as exc:
        named = _ATTRIBUTE.search(str(exc))
        field = "stream" if "stream" in str(exc) else f"params.{named.group(1)}" if named else "params"
        raise ConfigError(f"{request.where}: {exc}", field=field) from exc
    return _toxic(request, dict(spec.params))


def build_proxy_down(request: FaultRequest) -> Fault:
    edge = _edge(request)
    return ProxyDownFault(request.system.proxy.api_url, str(edge.proxy), fault_id=request.fault_id,
                          ttl_s=request.ttl_s)


def _tcp(name: str, params: type[FaultParams], doc: str) -> FaultKind:
    return FaultKind(name, "network", params, build_tcp_toxic, doc,
                     {"toxic": lambda entry, _supervisor: ToxicFault.from_ledger(entry)})


def _http(name: str, params: type[FaultParams], doc: str) -> FaultKind:
    return FaultKind(name, "http", params, build_http_toxic, doc,
                     {"toxic": lambda entry, _supervisor: ToxicFault.from_ledger(entry)})


KINDS: tuple[FaultKind, ...] = (
    _tcp("latency", LatencyParams, "delay every chunk on the edge by latency +- jitter ms"),
    _tcp("bandwidth", BandwidthParams, "limit the edge to rate KB/s"),
    _tcp("slow_close", SlowCloseParams, "delay closing connections by delay ms"),
    _tcp("timeout", TimeoutParams, "stop all data and close after timeout ms (0: hold the connection open)"),
    _tcp("reset_peer", TimeoutParams, "reset connections (TCP RST) after timeout ms"),
    _tcp("slicer", SlicerParams, "cut the stream into small slices with delays between them"),
    _tcp("limit_data", LimitDataParams, "close the connection after bytes bytes"),
    FaultKind("down", "network", NoParams, build_proxy_down, "take the edge's proxy down: connections are refused",
              {"proxy_down": lambda entry, _supervisor: ProxyDownFault.from_ledger(entry)}),
    _http("http_status", HttpStatusParams, "answer matching requests with status (and headers, body) "
          "instead of the upstream"),
    _http("http_abort", HttpAbortParams, "cut matching responses after after_bytes bytes (reset: RST)"),
    _http("http_delay", HttpDelayParams, "delay matching responses by delay_ms +- jitter_ms"),
    _http("json_truncate", JsonTruncateParams, "truncate matching JSON response bodies"),
    _http("json_malform", JsonMalformParams, "make matching JSON response bodies invalid JSON"),
    _http("schema_drift", SchemaDriftParams, "remove, rename or retype a key of matching JSON responses"),
    _http("wrong_value", WrongValueParams, "replace the value at pointer in matching JSON responses"),
    _http("fail_first_n", FailFirstNParams, "fail the first n matching requests with status, then pass"),
    _http("stream_cut", StreamCutParams, "cut matching (SSE) streams after events events or bytes bytes"),
)
