"""The release gate: rules on scorecard figures, and regression rules against a baseline.

A rule names a *figure* by its path in ``scorecard.json`` (``resilience_score``,
``mttr.p95``, ``policy.adherence``, ``scenarios[kill-fraud].score``) and compares it with
``>= <= == != < >``. Paths are checked against the scorecard model when the rule file
is loaded, so a typo is a usage error (exit 2, ``gate.yaml:7: field 'rules[2].figure'``),
not a silently failing rule. Reading a figure (``figures``):

- a list at the end of a path counts its items (``integrity.lost`` -> 1);
- a name after a list maps over the items and combines: booleans are counted
  (``scenarios.aborted`` -> how many aborted), numbers summed (``contracts.failed``),
  lists' lengths summed (``contracts.breaking_changes``); wrap the path in ``min()``,
  ``max()``, ``sum()`` or ``mean()`` to choose (``min(scenarios.score)``); mapping over an
  empty list reads nothing, so it is not measured rather than 0;
- ``[N]`` picks item N, ``[name]`` the item whose scenario/suite/edge/probe/fault_id is name;
- ``None`` anywhere means "not measured".

Judging (``judge``): a rule is pass, fail, not measured or skipped. Not measured carries the
reason the scorecard gives (the ``not_measured`` of the nearest enclosing section, e.g.
``policy.not_measured``) and does not fail the gate, so one gate file judges a system with
and without Cedar policies or declared side effects on what it has. It fails when the rule
says ``required: true``, or when the section says system.yaml declared it
(``policy.declared``, ``integrity.declared``): declared but unmeasured is broken telemetry.
A gate in which no rule was judged on a measured value fails: it checked nothing.

Regression rules compare the same figure in the current run and the baseline
(``max_increase``/``max_increase_pct`` for lower-is-better figures,
``max_decrease``/``max_decrease_pct`` for higher-is-better ones). Without a baseline they
are skipped, because CI often has no baseline on its first run; a figure either run did
not measure is not measured, never a pass.
"""

from __future__ import annotations

from harness.gate.figures import Reading, check_figure, measure, read_figure
from harness.gate.judge import NOTHING_MEASURED, GateResult, RuleOutcome, evaluate
from harness.gate.rules import GateFile, RegressionRule, Rule, load_gate, parse_rule

__all__ = [
    "NOTHING_MEASURED", "GateFile", "GateResult", "Reading", "RegressionRule", "Rule", "RuleOutcome",
    "check_figure", "evaluate", "load_gate", "measure", "parse_rule", "read_figure",
]
