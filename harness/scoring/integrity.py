"""Integrity: every submitted workflow matched to one outcome; duplicated side effects.

Outcome of a submitted workflow (the last outcome event for it wins):

* ``completed`` / ``failed`` / ``pending``: from ``workflow_completed`` / ``_failed`` / ``_pending``;
* ``lost``: its outcome event says ``state: UNKNOWN`` (the system has no record of it), or
  no outcome event exists at all.

Duplicated side effects come from the audit log: more than one ``payout_issued`` event
for the same ``claim_id`` within one repeat. Any lost or duplicated item breaks the integrity floor of
the repeat it belongs to (scenario fails, score 0; see docs/scoring.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.model.journal import Event
from harness.model.scorecard import Integrity, WorkItem
from harness.scoring.data import AuditEvent
from harness.scoring.timeline import RepeatKey

OUTCOME_KINDS = {"workflow_completed": "completed", "workflow_failed": "failed",
                 "workflow_pending": "pending"}

SIDE_EFFECTS: dict[str, str] = {"payout_issued": "claim_id"}
"""Audit ``event`` names that must happen at most once per value of the given key."""


@dataclass
class IntegrityReport:
    integrity: Integrity
    outcomes: dict[str, str]
    broken: set[RepeatKey] = field(default_factory=set)
    """Repeats with a lost or duplicated item (the hard floor)."""


def workflow_outcomes(events: list[Event]) -> tuple[dict[str, str], dict[str, Event]]:
    """``workflow_id -> outcome`` for every submitted workflow, and each one's submit event."""
    submitted: dict[str, Event] = {}
    final: dict[str, tuple[str, Event]] = {}
    for ev in events:
        wid = ev.get("workflow_id")
        if wid is None:
            continue
        wid = str(wid)
        if ev.kind == "workflow_submitted":
            submitted.setdefault(wid, ev)
        elif ev.kind in OUTCOME_KINDS:
            state = str(ev.get("state") or "")
            final[wid] = ("lost" if state.upper() == "UNKNOWN" else OUTCOME_KINDS[ev.kind], ev)
    outcomes = {wid: final[wid][0] if wid in final else "lost" for wid in submitted}
    return outcomes, submitted


def check_integrity(events: list[Event], audit: list[AuditEvent],
                    locate: Callable[[float], RepeatKey | None] | None = None) -> IntegrityReport:
    """Count outcomes and list lost/duplicated items. ``locate`` maps an audit ``ts``
    (epoch seconds) to a repeat when the audit event names no known workflow."""
    outcomes, submitted = workflow_outcomes(events)
    counts = defaultdict(int)
    for outcome in outcomes.values():
        counts[outcome] += 1
    lost: list[WorkItem] = []
    broken: set[RepeatKey] = set()
    errors: dict[str, str] = {}
    for ev in events:
        if ev.kind in OUTCOME_KINDS and ev.get("workflow_id") is not None:
            errors[str(ev.get("workflow_id"))] = str(ev.get("state") or "")
    for wid, outcome in outcomes.items():
        if outcome != "lost":
            continue
        sub = submitted[wid]
        detail = ("system has no record of it (state UNKNOWN)" if wid in errors
                  else "no outcome recorded after submission")
        lost.append(WorkItem(workflow_id=wid, scenario=sub.scenario, repeat=sub.repeat,
                             detail=f"{detail}; source {sub.get('source') or '?'}"))
        if sub.scenario is not None and sub.repeat is not None:
            broken.add((sub.scenario, int(sub.repeat)))
    duplicated = _duplicates(audit, submitted, locate, broken)
    integrity = Integrity(submitted=len(outcomes), completed=counts["completed"], failed=counts["failed"],
                          pending=counts["pending"], lost=lost, duplicated=duplicated)
    return IntegrityReport(integrity=integrity, outcomes=outcomes, broken=broken)


def _duplicates(audit: list[AuditEvent], submitted: dict[str, Event],
                locate: Callable[[float], RepeatKey | None] | None, broken: set[RepeatKey]) -> list[WorkItem]:
    """Side effects seen more than once for one key *within one repeat*.

    Scoped per repeat because test traffic often names claims from a counter (``C-{n}``)
    that restarts with each repeat's load process; the same id in two repeats is two
    claims, not one claim paid twice.
    """
    groups: dict[tuple[str, str, RepeatKey | None], list[AuditEvent]] = defaultdict(list)
    for rec in audit:
        key_field = SIDE_EFFECTS.get(str(rec.get("event")))
        if key_field is not None and rec.get(key_field) is not None:
            where = _repeat_of(rec, submitted, locate)
            groups[(str(rec["event"]), str(rec[key_field]), where)].append(rec)
    items = []
    for (name, key, where), recs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        if len(recs) < 2:
            continue
        if where is not None:
            broken.add(where)
        wids = sorted({str(r["workflow_id"]) for r in recs if r.get("workflow_id") is not None})
        field_name = SIDE_EFFECTS[name]
        items.append(WorkItem(
            workflow_id=",".join(wids) or f"{field_name}:{key}",
            scenario=where[0] if where else None,
            repeat=where[1] if where else None,
            detail=f"{name} {len(recs)} times for {field_name} {key}",
        ))
    return items


def _repeat_of(rec: AuditEvent, submitted: dict[str, Event],
               locate: Callable[[float], RepeatKey | None] | None) -> RepeatKey | None:
    """The repeat of the audit event's workflow, else the repeat whose window holds its ``ts``."""
    sub = submitted.get(str(rec.get("workflow_id")))
    if sub is not None and sub.scenario is not None and sub.repeat is not None:
        return (sub.scenario, int(sub.repeat))
    ts = rec.get("ts")
    if locate is not None and isinstance(ts, int | float):
        return locate(float(ts))
    return None
