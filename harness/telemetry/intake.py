"""Reading the spans and audit events of one run, and saying what was not used.

A system's telemetry file is usually appended to across runs and written by tools the
harness does not control, so three things can keep a record from being scored: it cannot
be understood (no name, no timestamp, not JSON: *ignored*, counted by reason), it belongs
to another run (*outside the run*: its time lies outside the run's wall-clock window
widened by ``MARGIN_S``), or it repeats a span already read (ignored as a duplicate). Every
record lands in exactly one of kept / outside / ignored, and the counts and the first place
each problem was seen are reported (``TelemetryIntake``), never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.model.journal import Event, RunEndEvent, RunStartEvent
from harness.model.scorecard import TelemetryIntake
from harness.scoring.data import AuditEvent, Span
from harness.telemetry.normalize import (
    DURATION_KEYS,
    END_KEYS,
    Unreadable,
    normalize_audit,
    normalize_span,
    unknown_fields,
)
from harness.telemetry.spans import Record, iter_records, span_sort_key

MARGIN_S = 2.0
"""Seconds kept either side of the run window: spans are exported when they end, and a
system's clock and the harness's may differ by a little."""

DUPLICATE = "duplicate of an earlier span (same trace_id and span_id)"

Window = tuple[float, float]


@dataclass
class Tally:
    """Counts for one kind of record (spans or audit events)."""

    read: int = 0
    kept: int = 0
    outside: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    first_at: dict[str, str] = field(default_factory=dict)
    """reason -> where it was first seen (``file:line``), for the warning that names it."""

    def ignore(self, reason: str, where: str) -> None:
        self.ignored[reason] += 1
        self.first_at.setdefault(reason, where)


@dataclass
class Intake:
    """The accumulator one reading pass fills; ``model()`` is what the scorecard shows."""

    spans: Tally = field(default_factory=Tally)
    audit: Tally = field(default_factory=Tally)
    window: Window | None = None
    warnings: list[str] = field(default_factory=list)
    unread_fields: Counter[str] = field(default_factory=Counter)
    no_end: int = 0

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def model(self) -> TelemetryIntake:
        warnings = list(self.warnings)
        for kind, tally in (("span", self.spans), ("audit event", self.audit)):
            for reason, n in tally.ignored.most_common():
                plural = "" if n == 1 else "s"
                warnings.append(f"ignored {n} {kind}{plural} ({reason}), first at {tally.first_at[reason]}")
        if self.unread_fields:
            listed = ", ".join(f"{k} ({n} span{'' if n == 1 else 's'})" for k, n in self.unread_fields.most_common(8))
            warnings.append(f"span fields the harness does not read were ignored: {listed} (docs/telemetry.md)")
        if self.no_end:
            warnings.append(f"{self.no_end} span{'' if self.no_end == 1 else 's'} had no end time; "
                            "the end is taken as the start")
        for kind, tally in (("spans", self.spans), ("audit events", self.audit)):
            if tally.outside and not tally.kept and self.window is not None:
                warnings.append(f"all {tally.outside} {kind} read lie outside this run's window "
                                f"({_when(self.window[0])} .. {_when(self.window[1])}): check the system's "
                                "clock and the timestamp units (docs/telemetry.md)")
        return TelemetryIntake(
            spans_read=self.spans.read, spans_kept=self.spans.kept, spans_outside_run=self.spans.outside,
            spans_ignored=dict(self.spans.ignored), audit_read=self.audit.read, audit_kept=self.audit.kept,
            audit_outside_run=self.audit.outside, audit_ignored=dict(self.audit.ignored),
            window=self.window, warnings=warnings)


def run_window(events: list[Event]) -> Window | None:
    """The run's wall-clock window from the journal (``run_start`` .. ``run_end``; the first
    and last event when either is missing, e.g. a killed run), widened by ``MARGIN_S``."""
    if not events:
        return None
    start = next((e for e in events if isinstance(e, RunStartEvent)), events[0])
    end = next((e for e in reversed(events) if isinstance(e, RunEndEvent)), None)
    last = end.t_wall if end is not None else max(e.t_wall for e in events)
    return widen(start.t_wall, last)


def widen(start_wall: float, end_wall: float) -> Window:
    return (start_wall - MARGIN_S, end_wall + MARGIN_S)


def read_spans(sources: Iterable[tuple[Path, str]], intake: Intake) -> list[Span]:
    """Normalised, deduplicated, trimmed to ``intake.window`` (if set), sorted by start.

    ``sources`` are ``(path, label)``; the label is how warnings name the file. A source
    that does not exist is a warning (nothing was read from it), not an error.
    """
    spans: list[Span] = []
    seen: set[tuple[str, str]] = set()
    tally = intake.spans
    for rec, span in _normalised(sources, "span", normalize_span, intake, tally):
        raw: dict[str, Any] = rec.value
        intake.unread_fields.update(unknown_fields(raw))
        ident = (span["trace_id"], span["span_id"])
        if ident[0] and ident[1]:
            if ident in seen:
                tally.ignore(DUPLICATE, rec.where)
                continue
            seen.add(ident)
        if not _in_window_span(span, intake.window):
            tally.outside += 1
            continue
        if not any(k in raw for k, _ in (*END_KEYS, *DURATION_KEYS)):
            intake.no_end += 1
        spans.append(span)
    tally.kept = len(spans)
    return sorted(spans, key=span_sort_key)


def read_audit(sources: Iterable[tuple[Path, str]], intake: Intake) -> list[AuditEvent]:
    """Audit events with ``ts`` in epoch seconds, trimmed to ``intake.window``, sorted by ``ts``."""
    rows: list[AuditEvent] = []
    tally = intake.audit
    for _rec, row in _normalised(sources, "audit", normalize_audit, intake, tally):
        window = intake.window
        if window is not None and not window[0] <= row["ts"] <= window[1]:
            tally.outside += 1
            continue
        rows.append(row)
    tally.kept = len(rows)
    return sorted(rows, key=lambda r: (r["ts"], json.dumps(r, sort_keys=True, default=str)))


def _normalised(sources: Iterable[tuple[Path, str]], kind: str, normalize: Callable[[Any], dict[str, Any]],
                intake: Intake, tally: Tally) -> Iterator[tuple[Record, dict[str, Any]]]:
    """Every record of ``sources`` that normalises, with its record; the rest is counted in
    ``tally`` by reason, and a missing source is a warning (nothing was read from it)."""
    for path, label in sources:
        if not path.is_file():
            intake.warn(f"{kind} source {label} does not exist: no {kind} records read from it")
            continue
        for rec in iter_records(path, label):
            tally.read += 1
            if rec.error is not None:
                tally.ignore(rec.error, rec.where)
                continue
            try:
                yield rec, normalize(rec.value)
            except Unreadable as exc:
                tally.ignore(exc.reason, rec.where)


def merge(collected: TelemetryIntake | None, loaded: TelemetryIntake) -> TelemetryIntake:
    """What collection saw in the system's files, followed by what reading the run folder
    saw. The folder holds the ``kept`` records of collection (plus any file put there by
    hand), so ``read`` is collection's read plus what the folder added beyond them."""
    if collected is None:
        return loaded

    def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return dict(Counter(a) + Counter(b))

    return TelemetryIntake(
        spans_read=collected.spans_read + max(0, loaded.spans_read - collected.spans_kept),
        spans_kept=loaded.spans_kept,
        spans_outside_run=collected.spans_outside_run + loaded.spans_outside_run,
        spans_ignored=add(collected.spans_ignored, loaded.spans_ignored),
        audit_read=collected.audit_read + max(0, loaded.audit_read - collected.audit_kept),
        audit_kept=loaded.audit_kept,
        audit_outside_run=collected.audit_outside_run + loaded.audit_outside_run,
        audit_ignored=add(collected.audit_ignored, loaded.audit_ignored),
        window=loaded.window or collected.window,
        warnings=list(dict.fromkeys([*collected.warnings, *loaded.warnings])),
    )


def intake_lines(intake: TelemetryIntake) -> list[str]:
    """The console lines: counts first, then one line per warning."""
    lines = [f"collected {intake.spans_kept} spans, {intake.audit_kept} audit events"]
    for kind, outside, ignored in (("spans", intake.spans_outside_run, intake.spans_ignored),
                                   ("audit events", intake.audit_outside_run, intake.audit_ignored)):
        if outside:
            lines.append(f"  {outside} {kind} outside this run's time window were not scored "
                         "(the source also holds other runs' records)")
        if ignored:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(ignored.items(), key=lambda kv: -kv[1]))
            lines.append(f"  ignored {sum(ignored.values())} {kind}: {reasons}")
    lines += [f"  warning: {w}" for w in intake.warnings if not w.startswith("ignored ")]
    lines += [f"  {w}" for w in intake.warnings if w.startswith("ignored ")]
    return lines


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True, default=str) + "\n")


def _in_window_span(span: Span, window: Window | None) -> bool:
    """A span belongs to the run when its [start, end] overlaps the window."""
    if window is None:
        return True
    return span["start_ns"] / 1e9 <= window[1] and span["end_ns"] / 1e9 >= window[0]


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
