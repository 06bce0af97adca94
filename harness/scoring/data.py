"""``RunData``: everything scoring needs from a run folder, already parsed.

The I/O side (``harness.telemetry.rundir.load_run``) fills it from files; tests build it
directly. Scoring never touches the disk, so a run can be re-scored from its folder alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.model.journal import Event, JournalProblem
from harness.model.scorecard import ContractResult, TelemetryIntake
from harness.model.system import SideEffect

Span = dict[str, Any]
"""A span in the JSONL shape of docs/telemetry.md (trace_id, span_id, start_ns, attributes, resource...)."""

AuditEvent = dict[str, Any]
"""An audit event in the shape of docs/telemetry.md (ts, principal, action, resource, context...)."""


@dataclass
class RunData:
    """A parsed run folder. ``events`` are sorted by ``seq``; spans by start time; audit by ``ts``."""

    run_id: str
    events: list[Event]
    journal_problems: list[JournalProblem] = field(default_factory=list)
    """Journal lines that are not events of a known kind (``harness.model.journal.parse_journal``)."""
    journal_torn: bool = False
    """The journal's last line was cut short (a killed run): tolerated, only counted."""
    spans: list[Span] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    policies: dict[str, str] = field(default_factory=dict)
    """Cedar policy text by file name (``policies/*.cedar``)."""
    entities: list[dict[str, Any]] | None = None
    contracts: list[ContractResult] = field(default_factory=list)
    side_effects: list[SideEffect] = field(default_factory=list)
    """What system.yaml declares must happen at most once per key (integrity's duplicates)."""
    policies_declared: bool = False
    """system.yaml names Cedar policy files (so adherence that cannot be computed is broken, not absent)."""
    meta: dict[str, Any] = field(default_factory=dict)
    telemetry: TelemetryIntake | None = None
    """What reading the spans and audit events read, kept and ignored (``None`` when the run
    was built in memory: then ``spans`` and ``audit`` are all there was)."""
