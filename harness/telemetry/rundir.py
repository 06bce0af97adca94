"""Read a run folder into the ``RunData`` scoring needs.

The files and their names belong to ``harness.runfolder.RunFolder`` (``journal.jsonl`` is
required; traces, audit events, policies, contract results, declarations and
``telemetry.json`` are optional, and a missing one means "not measured"); malformed
configuration is a ``ConfigError`` naming file, line and field. Spans and audit events are
data a system wrote, so a record that cannot be understood is counted and reported in the
scorecard's ``telemetry`` section instead (``intake``), and only the records inside the
journal's run window are scored.
"""

from __future__ import annotations

import os

from harness.model.scorecard import TelemetryIntake
from harness.runfolder import RunFolder
from harness.scoring.data import AuditEvent, RunData, Span
from harness.telemetry import intake as tin

__all__ = ["load_run", "read_telemetry"]


def load_run(run_dir: str | os.PathLike[str] | RunFolder) -> RunData:
    """Parse a run folder for scoring. Only ``journal.jsonl`` is required."""
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder.existing(run_dir)
    parsed = folder.read_journal()
    events = parsed.events
    spans, audit, telemetry = read_telemetry(folder, tin.run_window(events))
    return RunData(
        run_id=folder.run_id,
        events=events,
        journal_problems=parsed.problems,
        journal_torn=parsed.torn_last_line,
        spans=spans,
        audit=audit,
        telemetry=telemetry,
        policies=folder.read_policies(),
        entities=folder.read_entities(),
        contracts=folder.read_contracts(),
        meta=folder.read_meta(),
        side_effects=folder.read_side_effects(),
        policies_declared=bool(folder.read_declarations().get("policies")),
    )


def read_telemetry(folder: RunFolder, window: tin.Window | None) -> tuple[list[Span], list[AuditEvent],
                                                                          TelemetryIntake]:
    """Spans (a span two sources hold is kept once, as a Collector and the JSONL exporter may
    both have written it) and audit events inside ``window``, with the intake that says what
    was left out (collection's, if it left one)."""
    intake = tin.Intake(window=window)
    spans = tin.read_spans(folder.span_sources(), intake)
    audit = tin.read_audit(folder.audit_sources(), intake)
    return spans, audit, tin.merge(folder.read_intake(), intake.model())
