"""``reports/history.jsonl``: one line per run, the memory behind the trend chart.

A line holds only headline figures, so the file stays small after thousands of nightly
runs and old lines survive scorecard schema changes. Re-reporting a run does not add a
second line for it (the run id is the key), so ``harness report`` is safe to repeat.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.model.scorecard import Scorecard

__all__ = ["append_history", "history_entry", "read_history"]


def history_entry(card: Scorecard) -> dict[str, Any]:
    """The headline figures of one run, flat, for trends."""
    return {
        "run_id": card.run.run_id,
        "started_at": card.run.started_at,
        "git_sha": card.run.git_sha,
        "system": card.run.system,
        "verdict": card.verdict,
        "resilience_score": card.resilience_score,
        "availability": card.availability,
        "mttd_p95_s": card.mttd.p95,
        "mttr_p50_s": card.mttr.p50,
        "mttr_p95_s": card.mttr.p95,
        "policy_adherence": card.policy.adherence,
        "violations": len(card.policy.violations),
        "lost": len(card.integrity.lost),
        "duplicated": None if card.integrity.duplicated is None else len(card.integrity.duplicated),
        "contract_failures": sum(c.failed for c in card.contracts),
        "breaking_changes": sum(len(c.breaking_changes) for c in card.contracts),
        "scenarios": {s.scenario: s.score for s in card.scenarios},
    }


def read_history(path: Path) -> list[dict[str, Any]]:
    """All readable lines, oldest first; a torn or foreign line is skipped, not fatal."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out: list[dict[str, Any]] = []
    for raw in text.splitlines():
        try:
            row = json.loads(raw)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("run_id"), str):
            out.append(row)
    return out


def append_history(path: Path, card: Scorecard) -> list[dict[str, Any]]:
    """Append this run (unless already there) and return the whole history including it."""
    rows = read_history(path)
    entry = history_entry(card)
    if any(r["run_id"] == entry["run_id"] for r in rows):
        return rows
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND keeps concurrent runs (xdist, parallel CI jobs) from interleaving inside a line.
    line = (json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n").encode()
    if _ends_torn(path):
        line = b"\n" + line  # a killed writer left half a line: do not glue ours onto it
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return [*rows, entry]


def _ends_torn(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return False
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) != b"\n"
    except FileNotFoundError:
        return False
