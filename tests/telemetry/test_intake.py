"""Spans and audit events in the shapes real exporters write become one shape; what cannot
be read or belongs to another run is counted with its reason, never dropped silently."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model.scorecard import Integrity
from harness.scoring.data import RunData
from harness.scoring.telemetry import AMPLIFICATION, amplification_warnings
from harness.telemetry import intake as tin
from harness.telemetry.normalize import Unreadable, epoch_ns, normalize_audit, normalize_span

# 1973 .. 5000: every unit is read right by magnitude alone in this range
epochs_ns = st.integers(10**17, 95_000_000_000 * 10**9)
UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@given(epochs_ns, st.sampled_from(sorted(UNIT)))
def test_unit_less_epochs_are_read_by_magnitude(ns: int, unit: str) -> None:
    truncated = ns - ns % UNIT[unit]
    assert epoch_ns(truncated // UNIT[unit]) == truncated
    assert epoch_ns(str(truncated // UNIT[unit])) == truncated


@given(epochs_ns)
def test_iso_timestamps_keep_nanoseconds(ns: int) -> None:
    whole, frac = divmod(ns, 10**9)
    text = dt.datetime.fromtimestamp(whole, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"
    assert epoch_ns(text) == ns
    assert epoch_ns(text[:-1] + "+00:00") == ns


@pytest.mark.parametrize("bad", [True, -1, float("nan"), "yesterday", [1]])
def test_bad_times_raise(bad: object) -> None:
    with pytest.raises(ValueError):
        epoch_ns(bad)


START = 1_764_000_000_125_000_000  # ns; 2025-11-24, a float-exact number of seconds


def _shapes() -> dict[str, dict]:
    """One span written five ways: harness JSONL, home-made seconds, flattened attributes,
    the OTel SDK console exporter, and OTLP JSON (one span of an export)."""
    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "hotels"}
    return {
        "harness": {"trace_id": "ab" * 16, "span_id": "cd" * 8, "name": "book", "kind": "CLIENT",
                    "start_ns": START, "end_ns": START + 5 * 10**8, "status": "OK", "attributes": attrs,
                    "resource": {"service.name": "trips"}},
        "seconds": {"traceId": "AB" * 16, "spanId": "CD" * 8, "name": "book", "kind": "client",
                    "start": START / 1e9, "end": (START + 5 * 10**8) / 1e9, "status": "ok",
                    "attributes": attrs, "service.name": "trips"},
        "flattened": {"trace_id": "ab" * 16, "span_id": "cd" * 8, "name": "book", "kind": 3,
                      "start_ms": START // 10**6, "duration_ms": 500, "status": {"code": 1},
                      **{f"attributes.{k}": v for k, v in attrs.items()}, "resource.service.name": "trips"},
        "console": {"name": "book", "context": {"trace_id": "0x" + "ab" * 16, "span_id": "0x" + "cd" * 8},
                    "kind": "SpanKind.CLIENT", "parent_id": None,
                    "start_time": "2025-11-24T16:00:00.125000Z", "end_time": "2025-11-24T16:00:00.625000Z",
                    "status": {"status_code": "OK"}, "attributes": attrs,
                    "resource": {"attributes": {"service.name": "trips"}, "schema_url": ""}},
        "otlp": {"traceId": "ab" * 16, "spanId": "cd" * 8, "parentSpanId": "", "name": "book",
                 "kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": str(START),
                 "endTimeUnixNano": str(START + 5 * 10**8), "status": {"code": "STATUS_CODE_OK"},
                 "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
                 "resource": {"service.name": "trips"}},
    }


@pytest.mark.parametrize("shape", sorted(_shapes()))
def test_every_shape_normalises_to_the_same_span(shape: str) -> None:
    expected = normalize_span(_shapes()["harness"])
    got = normalize_span(_shapes()[shape])
    assert got == expected
    assert normalize_span(got) == got  # idempotent
    assert got["start_ns"] == START and got["end_ns"] == START + 5 * 10**8
    assert got["attributes"]["gen_ai.agent.name"] == "hotels" and got["resource"] == {"service.name": "trips"}


@pytest.mark.parametrize(("record", "reason"), [
    ([1, 2], "not a JSON object"),
    ({"start_ns": START}, "no name"),
    ({"name": "x"}, "no start time"),
    ({"name": "x", "start": "soon"}, "unparseable start time"),
    ({"name": "x", "start_ns": START, "end_ns": START - 1}, "ends before it starts"),
])
def test_unreadable_spans_say_why(record: object, reason: str) -> None:
    with pytest.raises(Unreadable) as err:
        normalize_span(record)
    assert err.value.reason == reason


def test_audit_keeps_its_fields_and_gains_ts_in_seconds() -> None:
    row = normalize_audit({"timestamp": "2025-11-24T16:00:00.5Z", "event": "hotel_booked",
                           "context.trip": "T-1", "workflowId": "w1"})
    assert row["ts"] == pytest.approx(1764000000.5)
    assert row["timestamp"] == "2025-11-24T16:00:00.5Z" and row["event"] == "hotel_booked"
    assert row["context"] == {"trip": "T-1"} and row["workflow_id"] == "w1"
    with pytest.raises(Unreadable, match="no timestamp"):
        normalize_audit({"event": "hotel_booked"})


def test_every_record_is_kept_outside_or_ignored(tmp_path: Path) -> None:
    """read = kept + outside + ignored, for a file appended to across runs."""
    t0 = START / 1e9
    rows = [
        {"name": "ours", "start": t0 + 1, "end": t0 + 2, "trace_id": "a" * 32, "span_id": "1" * 16},
        {"name": "ours again", "start": t0 + 1, "trace_id": "a" * 32, "span_id": "1" * 16},  # duplicate
        {"name": "earlier run", "start": t0 - 3600, "end": t0 - 3599},
        {"name": "straddles", "start": t0 - 10, "end": t0 + 0.5},  # overlaps the window: kept
        {"start": t0 + 1},
        {"name": "instant", "start": t0 + 3},  # no end: taken as its start, and said
    ]
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n" + '{"name": "torn", "sta')
    intake = tin.Intake(window=tin.widen(t0, t0 + 60))
    spans = tin.read_spans([(path, "spans.jsonl"), (tmp_path / "gone.jsonl", "gone.jsonl")], intake)
    report = intake.model()
    assert [s["name"] for s in spans] == ["straddles", "ours", "instant"]
    assert spans[2]["end_ns"] == spans[2]["start_ns"]
    assert report.spans_read == 7 and report.spans_kept == 3 and report.spans_outside_run == 1
    assert report.spans_ignored == {tin.DUPLICATE: 1, "no name": 1,
                                    "torn last line (its writer was still writing it)": 1}
    assert report.spans_read == report.spans_kept + report.spans_outside_run + sum(report.spans_ignored.values())
    assert any("gone.jsonl does not exist" in w for w in report.warnings)
    assert any(w.startswith("ignored 1 span (no name), first at spans.jsonl:5") for w in report.warnings)
    assert any("had no end time" in w for w in report.warnings)
    lines = tin.intake_lines(report)
    assert lines[0] == "collected 3 spans, 0 audit events"
    assert any("1 spans outside this run's time window" in line for line in lines)


def test_all_outside_the_window_says_check_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps({"ts": 1000.0, "event": "x"}) + "\n")  # 1970: a unit mistake
    intake = tin.Intake(window=tin.widen(START / 1e9, START / 1e9 + 10))
    assert tin.read_audit([(path, "audit.jsonl")], intake) == []
    assert any("all 1 audit events read lie outside" in w and "timestamp units" in w
               for w in intake.model().warnings)


@pytest.mark.parametrize(("spans", "needle"), [
    ([], "no spans of this run were read"),
    ([{"name": "book", "attributes": {"gen_ai.agent.name": "hotels"}}],
     "none of the 1 spans has the attribute gen_ai.operation.name"),
    ([{"name": "chat", "attributes": {"gen_ai.operation.name": "chat"}}], "(seen: chat (1))"),
])
def test_missing_retry_amplification_says_why(spans: list[dict], needle: str) -> None:
    run = RunData(run_id="r", events=[], spans=spans)
    warnings = amplification_warnings(run, [], Integrity(submitted=3, completed=3))
    assert len(warnings) == 1 and warnings[0].startswith(AMPLIFICATION) and needle in warnings[0]
    if spans and "gen_ai.agent.name" in spans[0]["attributes"]:
        assert "add gen_ai.operation.name to those" in warnings[0]
