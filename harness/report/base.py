"""What a report format is: a name, a docs line and a function that writes its file(s).

Built-in formats and users' own (entry point group ``harness.reporters``) are the same
kind of object, so ``write_reports`` treats them alike, the way schemathesis treats its
event handlers. A reporter gets everything already loaded (``ReportContext``) and writes
through ``RunFolder``, so a reader never sees half a file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.model.scorecard import Scorecard
from harness.report.data import ScoredRun
from harness.runfolder import RunFolder

__all__ = ["ReportContext", "Reporter"]


@dataclass(frozen=True)
class ReportContext:
    """A scored run as every reporter sees it."""

    run: ScoredRun
    folder: RunFolder
    baseline: Scorecard | None = None
    regressions: list[str] | None = None
    history: list[dict[str, Any]] | None = field(default=None)
    """Rows of the history file including this run, when history is kept."""

    @property
    def scorecard(self) -> Scorecard:
        return self.run.scorecard


@dataclass(frozen=True)
class Reporter:
    """One report format. ``write`` returns the path it wrote (a file or a folder)."""

    name: str
    docs: str
    write: Callable[[ReportContext], Path]
