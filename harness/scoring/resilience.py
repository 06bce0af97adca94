"""Resilience score of a repeat and a scenario; the run verdict.

Repeat score (0-100) = 100 x mean of the check groups that have checks:

* probe group: share of probe samples that held in the ``baseline`` and ``recover``
  phases. Probes failing during ``inject``/``observe`` are the fault doing its job and
  are judged by the SLOs of those phases and by MTTD/MTTR instead; a slow recovery shows
  up as failed samples in ``recover``.
* SLO group: share of SLO verdicts that passed.

The groups are averaged rather than pooled because the number of probe samples depends
on the probe interval, which must not drown out the SLOs. A repeat without any check
scores 100 (nothing was promised, nothing broke) but may still fail on integrity.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.model.scorecard import RepeatResult, SloVerdict

SCORED_PROBE_PHASES = ("baseline", "recover")


def repeat_score(probe_held: int, probe_total: int, slos: Sequence[SloVerdict]) -> float:
    groups = []
    if probe_total:
        groups.append(probe_held / probe_total)
    if slos:
        groups.append(sum(1 for s in slos if s.passed) / len(slos))
    return 100.0 * sum(groups) / len(groups) if groups else 100.0


def scenario_score(repeats: Sequence[RepeatResult], integrity_broken: bool) -> float:
    """Mean of the repeat scores; 0 when any repeat lost or duplicated a work item."""
    if integrity_broken or not repeats:
        return 0.0
    return sum(r.score for r in repeats) / len(repeats)


def weighted_score(scores_and_weights: Sequence[tuple[float, int]]) -> float:
    """LitmusChaos-style resilience: sum(w * score) / sum(w); 0 for no scenarios."""
    total = sum(w for _, w in scores_and_weights)
    return sum(s * w for s, w in scores_and_weights) / total if total else 0.0
