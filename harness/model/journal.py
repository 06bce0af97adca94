"""The journal: one JSON object per line, the single source of truth of a run.

The engine appends events (``harness.engine.journal.JournalWriter`` fsyncs each one);
scoring and reports only ever read them, so any run can be re-scored from its folder.

Every event has ``seq``, ``kind``, ``t_mono`` (seconds on the machine-wide monotonic
clock, ``time.monotonic()``, comparable across processes on one host) and ``t_wall``
(Unix epoch seconds). Context fields (``scenario``, ``repeat``, ``phase``) are set when
known. Kind-specific fields are listed in ``EVENT_FIELDS`` and documented in
``docs/journal.md``; unknown fields are kept, so old readers survive new writers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

EventKind = Literal[
    "run_start", "run_end",
    "scenario_start", "scenario_end",
    "phase_start", "phase_end",
    "fault_injected", "fault_reverted",
    "probe",
    "load_sample",
    "workflow_submitted", "workflow_completed", "workflow_failed", "workflow_pending",
    "abort", "error", "note",
]

EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "run_start": ("run_id", "system", "seed", "git_sha", "versions", "scenarios", "overrides"),
    "run_end": ("exit_code", "aborted"),
    "scenario_start": ("title", "weight", "repeats", "stable_for", "probe_interval_s", "phases", "probes", "slos"),
    "scenario_end": ("aborted", "reason"),
    "phase_start": (),
    "phase_end": (),
    "fault_injected": ("fault_id", "type", "target", "params", "ttl_s"),
    "fault_reverted": ("fault_id", "ok", "error"),
    "probe": ("probe", "ok", "latency_ms", "detail"),
    "load_sample": ("name", "method", "status", "latency_ms", "ok", "workflow_id", "error"),
    "workflow_submitted": ("workflow_id", "key", "source"),
    "workflow_completed": ("workflow_id", "state"),
    "workflow_failed": ("workflow_id", "state", "error"),
    "workflow_pending": ("workflow_id", "state"),
    "abort": ("reason", "condition"),
    "error": ("message",),
    "note": ("message",),
}


class Event(BaseModel):
    """One journal line. Kind-specific fields live as extra attributes (``event.probe`` ...)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    seq: int
    kind: EventKind
    t_mono: float
    t_wall: float
    scenario: str | None = None
    repeat: int | None = None
    phase: str | None = None

    def get(self, field: str, default: Any = None) -> Any:
        """Read a kind-specific field, ``default`` when absent."""
        extra = self.__pydantic_extra__ or {}
        return extra.get(field, default)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":"), sort_keys=True)


def parse_journal_lines(lines: Iterable[str]) -> list[Event]:
    """Parse journal lines, sorted by ``seq``.

    A run killed with SIGKILL may leave a torn last line; it is skipped rather than
    failing the whole read, because everything before it was fsync'd and is valid.
    """
    events: list[Event] = []
    for raw in lines:
        raw = raw.strip()
        if not raw:
            continue
        try:
            events.append(Event.model_validate_json(raw))
        except ValidationError:
            continue
    events.sort(key=lambda e: e.seq)
    return events
