"""One span or audit record in any accepted shape -> the harness shape (docs/telemetry.md).

Users write spans the way their exporter does: OTLP JSON (camelCase, hex or base64 ids,
``startTimeUnixNano`` as a string, attributes as key/value lists), the OpenTelemetry SDK's
console exporter (``context.trace_id`` as ``0x..``, ISO-8601 ``start_time``), or a
home-made JSONL line (``start``/``end`` in seconds, flattened ``attributes.x`` keys). All
of them become one shape here, so scoring reads one thing and a run folder can be
re-scored. Pure functions, no I/O: a record that cannot be understood raises
``Unreadable`` with a short, fixed reason that the intake counts (never silently dropped).

Units of unit-less timestamps are told apart by magnitude (see ``epoch_ns``); a key that
names its unit (``start_ns``, ``startTimeUnixNano``, ``ts_ms``) is taken at its word.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.redact import redact
from harness.scoring.data import AuditEvent, Span

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUS = ("UNSET", "OK", "ERROR")

# Unit-less epoch numbers: below 1e11 it is seconds (1e11 s is the year 5138), below 1e14
# milliseconds, below 1e17 microseconds, else nanoseconds. Any date from 1973 to 5138 is
# read right in any of the four units; an earlier one is read as seconds.
SECONDS_BELOW = 1e11
MILLIS_BELOW = 1e14
MICROS_BELOW = 1e17
_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}

# Reasons a record is ignored (the intake counts them by these exact strings).
NOT_OBJECT = "not a JSON object"
NO_NAME = "no name"
NO_START = "no start time"
BAD_START = "unparseable start time"
BAD_END = "unparseable end time"
END_BEFORE_START = "ends before it starts"
NO_TS = "no timestamp"
BAD_TS = "unparseable timestamp"

# (key, unit) in the order they are looked for; unit None = tell by magnitude.
START_KEYS = (("start_ns", "ns"), ("startTimeUnixNano", "ns"), ("start_time_unix_nano", "ns"),
              ("start_us", "us"), ("start_ms", "ms"), ("start_time_ms", "ms"), ("start_s", "s"),
              ("start_time", None), ("startTime", None), ("start", None))
END_KEYS = (("end_ns", "ns"), ("endTimeUnixNano", "ns"), ("end_time_unix_nano", "ns"),
            ("end_us", "us"), ("end_ms", "ms"), ("end_time_ms", "ms"), ("end_s", "s"),
            ("end_time", None), ("endTime", None), ("end", None))
DURATION_KEYS = (("duration_ns", "ns"), ("duration_us", "us"), ("duration_ms", "ms"), ("duration_s", "s"))
TS_KEYS = (("ts_ns", "ns"), ("ts_us", "us"), ("ts_ms", "ms"), ("ts", None), ("timestamp_ms", "ms"),
           ("timestamp", None), ("time", None), ("time_unix_nano", "ns"), ("timeUnixNano", "ns"))
TRACE_KEYS = ("trace_id", "traceId", "traceID")
SPAN_KEYS = ("span_id", "spanId", "spanID")
PARENT_KEYS = ("parent_span_id", "parentSpanId", "parent_id", "parentId", "parentSpanID")

STANDARD_UNUSED = frozenset({"links", "traceState", "trace_state", "flags", "droppedAttributesCount",
                             "dropped_attributes_count", "droppedEventsCount", "dropped_events_count",
                             "droppedLinksCount", "dropped_links_count"})
"""Standard OpenTelemetry span fields scoring has no use for; docs/telemetry.md lists them as ignored."""
_KNOWN = {k for k, _ in (*START_KEYS, *END_KEYS, *DURATION_KEYS)} | set(TRACE_KEYS) | set(SPAN_KEYS) | set(
    PARENT_KEYS) | {"name", "kind", "status", "status_message", "attributes", "resource", "events", "scope",
                    "context", "service_name"} | STANDARD_UNUSED
_ANY_VALUE_KEYS = frozenset({"stringValue", "string_value", "boolValue", "bool_value", "intValue", "int_value",
                             "doubleValue", "double_value", "arrayValue", "array_value", "kvlistValue",
                             "kvlist_value", "bytesValue", "bytes_value"})
_FRACTION = re.compile(r"^(?P<head>[^.,]+?:\d\d)[.,](?P<frac>\d+)(?P<tail>.*)$")


class Unreadable(ValueError):
    """The record cannot be understood; ``reason`` is one of the fixed strings above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_span(raw: Any) -> Span:
    """Any accepted span shape -> the harness span; ``Unreadable`` if it has no name or start.

    Idempotent: a normalised span normalises to itself. Secrets in attributes are redacted.
    """
    if not isinstance(raw, dict):
        raise Unreadable(NOT_OBJECT)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Unreadable(NO_NAME)
    start = _time(raw, START_KEYS, NO_START, BAD_START)
    if start is None:
        raise Unreadable(NO_START)
    end = _time(raw, END_KEYS, None, BAD_END)
    if end is None:
        dur = _time(raw, DURATION_KEYS, None, BAD_END, duration=True)
        end = start + dur if dur is not None else start
    if end < start:
        raise Unreadable(END_BEFORE_START)
    context = raw.get("context") if isinstance(raw.get("context"), dict) else {}
    status, message = _status(raw.get("status"), raw.get("status_message"))
    out: Span = {
        "trace_id": _id(_first(raw, TRACE_KEYS, context)),
        "span_id": _id(_first(raw, SPAN_KEYS, context)),
        "parent_span_id": _parent(_first(raw, PARENT_KEYS, {})),
        "name": name,
        "kind": _enum(raw.get("kind"), KINDS, ("SPAN_KIND_", "SpanKind.")),
        "start_ns": start,
        "end_ns": end,
        "status": status,
        "attributes": redact(span_attributes(raw)),
        "events": [_event(e) for e in raw.get("events") or [] if isinstance(e, dict)],
        "resource": redact(span_resource(raw)),
    }
    if message:
        out["status_message"] = message
    scope = raw.get("scope")
    scope = scope.get("name") if isinstance(scope, dict) else scope
    if scope:
        out["scope"] = str(scope)
    return out


def unknown_fields(raw: dict[str, Any]) -> list[str]:
    """Top-level fields of a span record the harness does not read (for the intake's warning)."""
    return sorted(k for k in raw if k not in _KNOWN and "." not in k)


def normalize_audit(raw: Any) -> AuditEvent:
    """Any accepted audit shape -> an audit event with ``ts`` in epoch seconds (float).

    Audit records are free-form (integrity reads them by JSON pointer), so every other
    field is kept as written (an ISO ``timestamp`` stays, next to the ``ts`` read from it);
    only ``ts``, camelCase id spellings and flattened ``context.x`` keys change.
    """
    if not isinstance(raw, dict):
        raise Unreadable(NOT_OBJECT)
    ns = _time(raw, TS_KEYS, NO_TS, BAD_TS)
    if ns is None:
        raise Unreadable(NO_TS)
    out: AuditEvent = {k: v for k, v in raw.items() if not k.startswith("context.")}
    out["ts"] = ns / 1e9
    for alias, canon in (("traceId", "trace_id"), ("spanId", "span_id"), ("workflowId", "workflow_id")):
        if alias in out:
            value = out.pop(alias)
            out.setdefault(canon, value)
    flat_ctx = {k[len("context."):]: v for k, v in raw.items() if k.startswith("context.")}
    if flat_ctx or isinstance(out.get("context"), dict):
        out["context"] = {**(out.get("context") if isinstance(out.get("context"), dict) else {}), **flat_ctx}
    return out


def epoch_ns(value: Any, unit: str | None = None, *, duration: bool = False) -> int | None:
    """A timestamp (number, numeric string or ISO-8601) in epoch nanoseconds.

    ``unit`` is the key's own unit; without one the magnitude decides (``SECONDS_BELOW``...).
    Floats are read through their shortest decimal form, so ``1700000000.123456`` seconds is
    exactly ``1700000000123456000`` ns. ``None``/``""``/``0`` is "no time" (OTLP's unset); an
    ISO string without a zone is UTC. ``ValueError`` when it is none of these.
    """
    if value is None or value == "" or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError("a boolean is not a time")
        return None
    number: Decimal | None = None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            if duration:
                raise ValueError("a duration must be a number") from None
            return _iso_ns(text)
        if not number.is_finite():
            raise ValueError("not a finite number")
    else:
        raise ValueError("not a number or a date")
    if number < 0:
        raise ValueError("negative time")
    if number == 0:
        return 0 if duration else None
    if unit is None:
        mag = abs(number)
        unit = "s" if mag < SECONDS_BELOW else "ms" if mag < MILLIS_BELOW else "us" if mag < MICROS_BELOW else "ns"
    return int(number * _UNIT_NS[unit])


def span_attributes(raw: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` (dict, nested dict or OTLP key/value list), then flattened
    ``attributes.x`` keys, then any other dotted top-level key (``gen_ai.agent.name``)."""
    out = _attribute_map(raw.get("attributes"))
    for key, value in raw.items():
        if key.startswith("attributes."):
            out[key[len("attributes."):]] = _plain(value)
        elif "." in key and not key.startswith(("resource.", "context.")) and key != "service.name":
            out[key] = _plain(value)
    return out


def span_resource(raw: dict[str, Any]) -> dict[str, Any]:
    """``resource`` (plain, ``{"attributes": ...}`` as OTLP and the console exporter write it),
    flattened ``resource.x`` keys, and a top-level ``service.name`` / ``service_name``."""
    res = raw.get("resource")
    out: dict[str, Any] = {}
    if isinstance(res, dict):
        if "attributes" in res and isinstance(res["attributes"], dict | list):
            out = _attribute_map(res["attributes"])
        else:
            out = _attribute_map(res)
    for key, value in raw.items():
        if key.startswith("resource."):
            out[key[len("resource."):]] = _plain(value)
    for key in ("service.name", "service_name"):
        if raw.get(key) is not None:
            out.setdefault("service.name", _plain(raw[key]))
    return out


def otlp_attributes(kvs: Iterable[Any]) -> dict[str, Any]:
    """OTLP ``[{key, value: {stringValue|intValue|...}}]`` to a plain dict."""
    return {str(kv["key"]): any_value(kv.get("value") or {})
            for kv in kvs if isinstance(kv, dict) and "key" in kv}


def any_value(value: Any) -> Any:
    """One OTLP ``AnyValue`` (JSON or ``MessageToDict`` spelling) to a plain value."""
    if not isinstance(value, dict):
        return value
    for key, conv in (("stringValue", str), ("string_value", str), ("boolValue", bool), ("bool_value", bool),
                      ("intValue", int), ("int_value", int), ("doubleValue", float), ("double_value", float)):
        if key in value:
            return conv(value[key])
    arr = value.get("arrayValue", value.get("array_value"))
    if isinstance(arr, dict):
        return [any_value(v) for v in arr.get("values") or []]
    kvl = value.get("kvlistValue", value.get("kvlist_value"))
    if isinstance(kvl, dict):
        return otlp_attributes(kvl.get("values") or [])
    return value.get("bytesValue", value.get("bytes_value"))


def _attribute_map(attrs: Any) -> dict[str, Any]:
    if isinstance(attrs, list):
        return _flatten(otlp_attributes(attrs))
    if isinstance(attrs, dict):
        return _flatten(attrs)
    return {}


def _flatten(attrs: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys (``{"gen_ai": {"agent": {"name": x}}}`` ->
    ``gen_ai.agent.name``); a dict that is an OTLP ``AnyValue`` is unwrapped instead."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _ANY_VALUE_KEYS:
            value = any_value(value)
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _plain(value: Any) -> Any:
    return any_value(value) if isinstance(value, dict) and len(value) == 1 and next(
        iter(value)) in _ANY_VALUE_KEYS else value


def _time(raw: dict[str, Any], keys: tuple[tuple[str, str | None], ...], missing: str | None, bad: str,
          *, duration: bool = False) -> int | None:
    for key, unit in keys:
        if key in raw and raw[key] is not None and raw[key] != "":
            try:
                ns = epoch_ns(raw[key], unit, duration=duration)
            except (ValueError, ArithmeticError):
                raise Unreadable(bad) from None
            if ns is not None:
                return ns
    return None


def _iso_ns(text: str) -> int:
    """ISO-8601 to epoch ns, keeping every fractional digit (``datetime`` stops at µs)."""
    frac = Decimal(0)
    match = _FRACTION.match(text)
    if match:
        frac = Decimal("0." + match["frac"])
        text = match["head"] + match["tail"]
    when = dt.datetime.fromisoformat(text.replace("z", "Z"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    whole = delta.days * 86400 + delta.seconds
    return (whole * 10**6 + delta.microseconds) * 10**3 + int(frac * 10**9)


def _first(raw: dict[str, Any], keys: tuple[str, ...], context: dict[str, Any]) -> Any:
    for source in (raw, context):
        for key in keys:
            if source.get(key):
                return source[key]
    return None


def _id(raw: Any) -> str | None:
    """Hex (with or without ``0x``), or base64 of 8/16 bytes (protobuf ``MessageToDict``), to
    lowercase hex; any other text is kept as written (it still identifies the span)."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    hexpart = text[2:] if text[:2].lower() == "0x" else text
    if hexpart and all(c in "0123456789abcdefABCDEF" for c in hexpart) and len(hexpart) in (16, 32):
        return hexpart.lower()
    if len(text) in (12, 24):
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) in (8, 16):
            return decoded.hex()
    return text


def _parent(raw: Any) -> str | None:
    ident = _id(raw)
    return None if ident is None or set(ident) == {"0"} else ident


def _enum(raw: Any, names: tuple[str, ...], prefixes: tuple[str, ...]) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return names[raw] if 0 <= raw < len(names) else str(raw)
    if raw is None or raw == "":
        return names[0]
    text = str(raw)
    for prefix in prefixes:
        text = text.removeprefix(prefix)
    return text.upper()


def _status(raw: Any, message: Any) -> tuple[str, str | None]:
    """``"OK"``, ``2``, ``"STATUS_CODE_ERROR"``, ``{"code": ..}`` or ``{"status_code": ..}``."""
    prefixes = ("STATUS_CODE_", "StatusCode.")
    if isinstance(raw, dict):
        code = next((raw[k] for k in ("code", "status_code", "statusCode") if k in raw), None)
        text = raw.get("message") or raw.get("description") or message
        return _enum(code, STATUS, prefixes), str(text) if text else None
    return _enum(raw, STATUS, prefixes), str(message) if message else None


def _event(raw: dict[str, Any]) -> dict[str, Any]:
    """Name and attributes; an event's own timestamp is not read (scoring uses none)."""
    return {"name": str(raw.get("name") or ""), "attributes": redact(_attribute_map(raw.get("attributes")))}


def iter_otlp(doc: dict[str, Any]) -> Iterator[Any]:
    """The span records of an ``ExportTraceServiceRequest`` dict (camelCase or snake_case),
    each with its resource and scope attached, ready for ``normalize_span``."""
    for rs in _get(doc, "resourceSpans") or []:
        if not isinstance(rs, dict):
            continue
        resource = _attribute_map((rs.get("resource") or {}).get("attributes") or [])
        for ss in _get(rs, "scopeSpans") or _get(rs, "instrumentationLibrarySpans") or []:
            if not isinstance(ss, dict):
                continue
            scope = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            for sp in ss.get("spans") or []:
                if isinstance(sp, dict):
                    yield {**sp, "resource": resource, "scope": scope.get("name") if isinstance(scope, dict)
                           else None}
                else:
                    yield sp  # normalize_span says it is not an object


def is_otlp(doc: Any) -> bool:
    return isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc)


def _get(obj: dict[str, Any], camel: str) -> Any:
    if camel in obj:
        return obj[camel]
    return obj.get("".join("_" + c.lower() if c.isupper() else c for c in camel))
