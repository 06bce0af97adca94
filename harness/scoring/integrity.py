"""Integrity: every submitted workflow matched to one outcome; duplicated side effects.

Outcome of a submitted workflow (the last outcome event for it wins):

* ``completed`` / ``failed`` / ``pending``: from ``workflow_completed`` / ``_failed`` / ``_pending``;
* ``lost``: its outcome event says ``state: UNKNOWN`` (the system has no record of it), or
  no outcome event exists at all.

Duplicated side effects come from what ``system.yaml`` declares under ``side_effects``:
audit events (by their ``event`` field) or spans (by name), each with the field that is its
business key. Two matching records with the same key within one repeat are one duplicate.
Without a declaration duplicates are not measured (``None`` with a reason), never "none
found". Any lost or duplicated item breaks the integrity floor of the repeat it belongs to
(scenario fails, score 0; see docs/scoring.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.jsontools import resolve_pointer
from harness.model.journal import (
    Event,
    WorkflowCompletedEvent,
    WorkflowFailedEvent,
    WorkflowOutcomeEvent,
    WorkflowPendingEvent,
    WorkflowSubmittedEvent,
)
from harness.model.scorecard import Integrity, WorkItem
from harness.model.system import SideEffect
from harness.scoring.data import AuditEvent, Span
from harness.scoring.timeline import RepeatKey

OUTCOMES: dict[type[Event], str] = {WorkflowCompletedEvent: "completed", WorkflowFailedEvent: "failed",
                                    WorkflowPendingEvent: "pending"}

NO_DECLARATION = "system.yaml declares no side_effects, so duplicated work cannot be told apart"


@dataclass
class IntegrityReport:
    integrity: Integrity
    outcomes: dict[str, str]
    broken: set[RepeatKey] = field(default_factory=set)
    """Repeats with a lost or duplicated item (the hard floor)."""


def workflow_outcomes(events: list[Event]) -> tuple[dict[str, str], dict[str, WorkflowSubmittedEvent]]:
    """``workflow_id -> outcome`` for every submitted workflow, and each one's submit event."""
    submitted: dict[str, WorkflowSubmittedEvent] = {}
    final: dict[str, str] = {}
    for ev in events:
        if isinstance(ev, WorkflowSubmittedEvent):
            submitted.setdefault(ev.workflow_id, ev)
        elif isinstance(ev, WorkflowOutcomeEvent):
            final[ev.workflow_id] = "lost" if ev.state.upper() == "UNKNOWN" else OUTCOMES[type(ev)]
    outcomes = {wid: final.get(wid, "lost") for wid in submitted}
    return outcomes, submitted


def check_integrity(events: list[Event], audit: list[AuditEvent],
                    locate: Callable[[float], RepeatKey | None] | None = None, *,
                    side_effects: list[SideEffect] | None = None,
                    spans: list[Span] | None = None) -> IntegrityReport:
    """Count outcomes and list lost/duplicated items. ``locate`` maps an epoch time to a
    repeat when a side-effect record names no known workflow."""
    outcomes, submitted = workflow_outcomes(events)
    counts = defaultdict(int)
    for outcome in outcomes.values():
        counts[outcome] += 1
    lost: list[WorkItem] = []
    broken: set[RepeatKey] = set()
    errors: dict[str, str] = {}
    for ev in events:
        if isinstance(ev, WorkflowOutcomeEvent):
            errors[ev.workflow_id] = ev.state
    for wid, outcome in outcomes.items():
        if outcome != "lost":
            continue
        sub = submitted[wid]
        detail = ("system has no record of it (state UNKNOWN)" if wid in errors
                  else "no outcome recorded after submission")
        lost.append(WorkItem(workflow_id=wid, scenario=sub.scenario, repeat=sub.repeat,
                             detail=f"{detail}; source {sub.source or '?'}"))
        if sub.scenario is not None and sub.repeat is not None:
            broken.add((sub.scenario, sub.repeat))
    declared = list(side_effects or [])
    duplicated: list[WorkItem] | None = None
    reason: str | None = NO_DECLARATION
    if declared:
        records = list(_side_effect_records(declared, audit, spans or []))
        sources_empty = (not audit or not any(d.audit_event for d in declared)) and \
            (not spans or not any(d.span_name for d in declared))
        if records or not sources_empty or not counts["completed"]:
            # a source that has records but none matching, or no completed work, is a measured zero
            duplicated, reason = _duplicates(records, submitted, locate, broken), None
        else:
            reason = (f"side effects declared but {counts['completed']} workflows completed and the run "
                      "collected no audit events or spans to look in: check system.yaml's audit/traces sources")
    integrity = Integrity(submitted=len(outcomes), completed=counts["completed"], failed=counts["failed"],
                          pending=counts["pending"], lost=lost, duplicated=duplicated,
                          declared=[d.label for d in declared], not_measured=reason)
    return IntegrityReport(integrity=integrity, outcomes=outcomes, broken=broken)


@dataclass
class _Record:
    """One occurrence of a declared side effect, from an audit event or a span."""

    label: str
    key_name: str
    key: str
    workflow_id: str | None
    ts: float | None


def _side_effect_records(declared: list[SideEffect], audit: list[AuditEvent],
                         spans: list[Span]) -> Iterator[_Record]:
    for effect in declared:
        if effect.audit_event is not None:
            for rec in audit:
                if rec.get("event") != effect.audit_event:
                    continue
                if any(resolve_pointer(rec, ptr) != want for ptr, want in effect.where.items()):
                    continue
                key = resolve_pointer(rec, effect.key)
                if key is not None:
                    ts = rec.get("ts")
                    yield _Record(effect.label, effect.key.lstrip("/"), str(key), _opt_str(rec.get("workflow_id")),
                                  float(ts) if isinstance(ts, int | float) else None)
        else:
            for span in spans:
                attrs = span.get("attributes") or {}
                if span.get("name") != effect.span_name:
                    continue
                if any(attrs.get(attr) != want for attr, want in effect.where.items()):
                    continue
                key = attrs.get(effect.key)
                if key is not None:
                    start = span.get("start_ns")
                    yield _Record(effect.label, effect.key, str(key),
                                  _opt_str(attrs.get("workflow_id") or attrs.get("workflow.id")),
                                  start / 1e9 if isinstance(start, int | float) else None)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _duplicates(records: list[_Record], submitted: dict[str, WorkflowSubmittedEvent],
                locate: Callable[[float], RepeatKey | None] | None, broken: set[RepeatKey]) -> list[WorkItem]:
    """Side effects seen more than once for one key *within one repeat*.

    Scoped per repeat because test traffic often names its items from a counter that
    restarts with each repeat's load process; the same key in two repeats is two items,
    not one item done twice.
    """
    groups: dict[tuple[str, str, str, RepeatKey | None], list[_Record]] = defaultdict(list)
    for rec in records:
        groups[(rec.label, rec.key_name, rec.key, _repeat_of(rec, submitted, locate))].append(rec)
    items = []
    for (label, key_name, key, where), recs in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if len(recs) < 2:
            continue
        if where is not None:
            broken.add(where)
        wids = sorted({r.workflow_id for r in recs if r.workflow_id is not None})
        items.append(WorkItem(
            workflow_id=",".join(wids) or f"{key_name}:{key}",
            scenario=where[0] if where else None,
            repeat=where[1] if where else None,
            detail=f"{label} {len(recs)} times for {key_name} {key}",
        ))
    return items


def _repeat_of(rec: _Record, submitted: dict[str, WorkflowSubmittedEvent],
               locate: Callable[[float], RepeatKey | None] | None) -> RepeatKey | None:
    """The repeat of the record's workflow, else the repeat whose window holds its time."""
    sub = submitted.get(rec.workflow_id) if rec.workflow_id is not None else None
    if sub is not None and sub.scenario is not None and sub.repeat is not None:
        return (sub.scenario, sub.repeat)
    if locate is not None and rec.ts is not None:
        return locate(rec.ts)
    return None
