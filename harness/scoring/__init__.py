"""harness.scoring: pure functions from a parsed run folder to a ``Scorecard``.

No I/O here (docs/api.md): ``harness.telemetry.rundir.load_run`` reads the folder,
``score_run`` turns it into a scorecard, ``harness.runfolder.RunFolder.write_scorecard``
writes it. Every formula is documented in docs/scoring.md.
"""

from __future__ import annotations

from harness.scoring.data import AuditEvent, RunData, Span
from harness.scoring.score import score_repeat, score_run
from harness.scoring.stats import bootstrap_ci, pass_k, percentile, summarize

__all__ = ["AuditEvent", "RunData", "Span", "bootstrap_ci", "pass_k", "percentile", "score_repeat",
           "score_run", "summarize"]
