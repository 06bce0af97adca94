"""OTLP span decoding (protobuf and JSON, hex and base64 ids) property-tested (redaction: tests/test_redact.py)."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from harness.redact import is_secret_name
from harness.telemetry.intake import Intake, read_spans
from harness.telemetry.receiver import decode_body
from harness.telemetry.spans import spans_from_protobuf

keys = st.from_regex(r"[a-z][a-z_]{0,8}(\.[a-z_]{1,8}){0,2}", fullmatch=True).filter(lambda k: not is_secret_name(k))
values = st.one_of(st.text(max_size=20), st.integers(-2**62, 2**62), st.booleans(),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.lists(st.text(max_size=5), max_size=3))
span_st = st.fixed_dictionaries({
    "trace": st.binary(min_size=16, max_size=16), "span": st.binary(min_size=8, max_size=8),
    "parent": st.one_of(st.just(b""), st.binary(min_size=8, max_size=8)),
    # a span with no name or no start is unreadable (counted by the intake, tested there)
    "name": st.text(max_size=30).filter(str.strip), "kind": st.integers(0, 5), "status": st.integers(0, 2),
    "start": st.integers(1, 2**63 - 1), "dur": st.integers(0, 10**12),
    "attrs": st.dictionaries(keys, values, max_size=6),
})


def _any(v: object) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[_any(x) for x in v]))
    return AnyValue(string_value=str(v))


def _request(spans: list[dict]) -> ExportTraceServiceRequest:
    pb_spans = [Span(trace_id=s["trace"], span_id=s["span"], parent_span_id=s["parent"], name=s["name"],
                     kind=s["kind"], start_time_unix_nano=s["start"],
                     end_time_unix_nano=min(s["start"] + s["dur"], 2**64 - 1),
                     status=Status(code=s["status"]),
                     attributes=[KeyValue(key=k, value=_any(v)) for k, v in s["attrs"].items()])
                for s in spans]
    resource = {"attributes": [KeyValue(key="service.name", value=AnyValue(string_value="orchestrator"))]}
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=resource, scope_spans=[ScopeSpans(spans=pb_spans)])])


@settings(max_examples=60, deadline=None)
@given(st.lists(span_st, min_size=1, max_size=4))
def test_protobuf_round_trip(spans: list[dict]) -> None:
    decoded = spans_from_protobuf(_request(spans).SerializeToString())
    assert len(decoded) == len(spans)
    kinds = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
    for src, out in zip(spans, decoded, strict=True):
        assert out["trace_id"] == src["trace"].hex() and out["span_id"] == src["span"].hex()
        # an all-zero parent id is OTLP's "no parent", like an empty one
        assert out["parent_span_id"] == (src["parent"].hex() if src["parent"].strip(b"\0") else None)
        assert out["name"] == src["name"] and out["kind"] == kinds[src["kind"]]
        assert out["status"] == ("UNSET", "OK", "ERROR")[src["status"]]
        assert out["start_ns"] == src["start"]
        assert out["resource"] == {"service.name": "orchestrator"}
        assert out["attributes"] == src["attrs"]


@settings(max_examples=30, deadline=None)
@given(st.lists(span_st, min_size=1, max_size=3))
def test_json_body_with_hex_ids_equals_protobuf(spans: list[dict]) -> None:
    req = _request(spans)
    from google.protobuf.json_format import MessageToDict

    doc = MessageToDict(req)  # base64 ids, as protobuf's JSON mapping spells them
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:  # OTLP/JSON spells ids in hex: convert
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in sp:
                        sp[key] = base64.b64decode(sp[key]).hex()
    body = gzip.compress(json.dumps(doc).encode())
    assert decode_body(body, "application/json; charset=utf-8", "gzip") == \
        decode_body(req.SerializeToString(), "application/x-protobuf", "")


def test_bad_bodies_raise_value_error() -> None:
    for body, ctype, enc in [(b"\x08\xff\xff", "application/x-protobuf", ""), (b"nope", "application/json", ""),
                             (b"[]", "application/json", ""), (b"x", "application/json", "gzip"),
                             (b"{}", "application/json", "br")]:
        with pytest.raises(ValueError):
            decode_body(body, ctype, enc)


def test_collector_file_export_lines(tmp_path: Path) -> None:
    one = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [
        {"traceId": "0" * 31 + "1", "spanId": "0" * 15 + "1", "name": "a", "kind": "SPAN_KIND_SERVER",
         "startTimeUnixNano": "5", "status": {"code": "STATUS_CODE_ERROR"}}]}]}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(one) + "\n" + json.dumps(one).replace('"a"', '"b"').replace('1"', '2"') + "\n")
    spans = read_spans([(path, "export.json")], Intake())
    assert [s["name"] for s in spans] == ["a", "b"]
    assert spans[0]["kind"] == "SERVER" and spans[0]["status"] == "ERROR" and spans[0]["start_ns"] == 5
    # an object that is neither OTLP nor a span is counted as ignored, not an error
    path.write_text(json.dumps({"hello": 1}))
    intake = Intake()
    assert read_spans([(path, "export.json")], intake) == []
    assert intake.model().spans_ignored == {"no name": 1}
