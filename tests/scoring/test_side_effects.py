"""Integrity's duplicates come only from the side effects a system declares (system.yaml
``side_effects``), from audit events or spans; without a declaration they are not measured."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from harness.model.system import SideEffect
from harness.scoring import score_run
from tests.scoring.factory import RepeatPlan
from tests.scoring.test_repeats import build

HOTEL = SideEffect(name="hotel booked", audit_event="hotel_booked", key="/trip/id")
FLIGHT_SPAN = SideEffect(span_name="book_flight", key="trip.id", where={"outcome": "booked"})


def _trip_run(*, side_effects: list[SideEffect]):  # type: ignore[no-untyped-def]
    b = build(RepeatPlan(workflows=["completed", "completed"]))
    b.side_effects = side_effects
    w1, w2 = (e["workflow_id"] for e in b.events if e["kind"] == "workflow_submitted")
    for wid, t in ((w1, 101.0), (w1, 102.0), (w2, 103.0)):  # w1's hotel booked twice
        b.audit.append({"ts": b.wall(t), "event": "hotel_booked", "trip": {"id": f"T-{wid}"}, "workflow_id": wid})
    b.audit.append({"ts": b.wall(104.0), "event": "invoice_sent", "trip": {"id": f"T-{w2}"}})
    b.audit.append({"ts": b.wall(105.0), "event": "invoice_sent", "trip": {"id": f"T-{w2}"}})
    for i, (trip, outcome) in enumerate([("T-9", "booked"), ("T-9", "booked"), ("T-8", "booked"),
                                         ("T-8", "rejected")]):
        b.spans.append({"trace_id": f"{i:032x}", "span_id": f"{i:016x}", "name": "book_flight",
                        "start_ns": int(b.wall(101.0 + i) * 1e9), "end_ns": int(b.wall(101.5 + i) * 1e9),
                        "attributes": {"trip.id": trip, "outcome": outcome}})
    return b, w1


def test_undeclared_side_effects_are_not_measured_even_when_records_repeat() -> None:
    b, _ = _trip_run(side_effects=[])
    integ = score_run(b.run_data()).integrity
    assert integ.duplicated is None
    assert integ.not_measured is not None and "side_effects" in integ.not_measured
    assert integ.duplicated_text.startswith("not measured (")


def test_only_declared_audit_events_count_keyed_by_json_pointer() -> None:
    b, w1 = _trip_run(side_effects=[HOTEL])
    card = score_run(b.run_data())
    (dup,) = card.integrity.duplicated or []
    assert dup.workflow_id == w1 and dup.detail == f"hotel booked 2 times for trip/id T-{w1}"
    assert card.integrity.declared == ["hotel booked"] and card.integrity.not_measured is None
    assert card.verdict == "fail"  # the integrity floor


def test_span_side_effects_with_filters_and_several_declarations() -> None:
    b, w1 = _trip_run(side_effects=[HOTEL, FLIGHT_SPAN])
    dups = {d.detail for d in score_run(b.run_data()).integrity.duplicated or []}
    # T-8 was booked once (its second span is a rejection, filtered out by `where`)
    assert dups == {f"hotel booked 2 times for trip/id T-{w1}", "book_flight 2 times for trip.id T-9"}


def test_declared_but_nothing_collected_is_not_measured_with_a_telemetry_reason() -> None:
    """Completed work and no audit events or spans at all: the figure could not be computed,
    which must not read as "no duplicates" (the gate fails a declared-but-unmeasured figure)."""
    b, _ = _trip_run(side_effects=[HOTEL, FLIGHT_SPAN])
    b.audit, b.spans = [], []
    integ = score_run(b.run_data()).integrity
    assert integ.duplicated is None and integ.declared == ["hotel booked", "book_flight"]
    assert integ.not_measured is not None and "no audit events or spans" in integ.not_measured
    assert integ.ok  # not measured is not broken for the floor; the gate reads `not_measured`


def test_a_declared_source_with_other_records_is_a_measured_zero() -> None:
    b, _ = _trip_run(side_effects=[SideEffect(audit_event="car_rented", key="/trip/id")])
    integ = score_run(b.run_data()).integrity
    assert integ.duplicated == [] and integ.not_measured is None


def test_the_same_key_in_two_repeats_is_two_items() -> None:
    """Test traffic may name items from a counter that restarts per repeat."""
    b = build(RepeatPlan(repeat=0, repeats=2, workflows=["completed"]),
              RepeatPlan(repeat=1, start=120, repeats=2, workflows=["completed"]))
    b.side_effects = [HOTEL]
    wids = [e["workflow_id"] for e in b.events if e["kind"] == "workflow_submitted"]
    assert len(set(wids)) == 2
    for wid, t in zip(wids, (101.0, 121.0), strict=True):
        b.audit.append({"ts": b.wall(t), "event": "hotel_booked", "trip": {"id": "T-1"}, "workflow_id": wid})
    b.audit.append({"ts": b.wall(122.0), "event": "hotel_booked", "trip": {"id": "T-1"}})  # no workflow: by time
    (dup,) = score_run(b.run_data()).integrity.duplicated or []
    assert dup.repeat == 1 and dup.detail == "hotel booked 2 times for trip/id T-1"


def test_records_without_the_key_are_not_duplicates() -> None:
    b, _ = _trip_run(side_effects=[SideEffect(audit_event="hotel_booked", key="/booking_ref")])
    integ = score_run(b.run_data()).integrity
    assert integ.duplicated == []  # measured: records exist, none carries the key twice


@given(st.lists(st.sampled_from(["T-1", "T-2", "T-3"]), max_size=8))
def test_a_duplicate_is_exactly_a_key_seen_twice(keys: list[str]) -> None:
    b = build(RepeatPlan(workflows=["completed"]))
    b.side_effects = [SideEffect(audit_event="shipped", key="/order")]
    b.audit.append({"ts": b.wall(100.5), "event": "other"})
    for i, key in enumerate(keys):
        b.audit.append({"ts": b.wall(101.0 + i * 0.1), "event": "shipped", "order": key})
    dups = score_run(b.run_data()).integrity.duplicated
    assert dups is not None
    assert {d.detail.rsplit(" ", 1)[-1] for d in dups} == {k for k in keys if keys.count(k) > 1}


@pytest.mark.parametrize(("fields", "message"), [
    ({"key": "/id"}, "exactly one of 'audit_event' or 'span_name'"),
    ({"audit_event": "a", "span_name": "b", "key": "/id"}, "exactly one of"),
    ({"audit_event": "a", "key": "trip_id"}, "must be a JSON pointer"),
    ({"audit_event": "a", "key": "/id", "where": {"kind": "x"}}, "must be a JSON pointer"),
])
def test_bad_declarations_are_refused_clearly(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SideEffect.model_validate(fields)


def test_declarations_travel_with_the_run_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """collect_telemetry writes what system.yaml declares; load_run reads it back, so a
    folder re-scored later judges the same side effects."""
    from harness.engine.collect import collect_telemetry
    from harness.model.system import SystemSpec
    from harness.telemetry.rundir import load_run

    b, w1 = _trip_run(side_effects=[])
    run_dir = b.write(tmp_path / "run")
    system = SystemSpec.model_validate({
        "name": "trips", "side_effects": [HOTEL.model_dump(exclude_none=True)],
        "services": [{"name": "trips", "kind": "orchestrator", "protocol": "rest",
                      "base_url": "http://127.0.0.1:9", "external": True}]})
    collect_telemetry(system, run_dir, start_wall=0.0, end_wall=0.0, system_path=None)
    run = load_run(run_dir)
    assert run.side_effects == [HOTEL] and run.policies_declared is False
    (dup,) = score_run(run).integrity.duplicated or []
    assert dup.workflow_id == w1

