"""The release gate: rules on scorecard figures, and regression rules against a baseline.

A rule names a *figure* by its path in ``scorecard.json`` (``resilience_score``,
``mttr.p95``, ``policy.adherence``, ``scenarios[kill-fraud].score``) and compares it with
``>= <= == != < >``. Paths are checked against the scorecard model when the rule file
is loaded, so a typo is a usage error (exit 2, ``gate.yaml:7: field 'rules[2].figure'``),
not a silently failing rule. Reading a figure:

- a list at the end of a path counts its items (``integrity.lost`` -> 1);
- a name after a list maps over the items and combines: booleans are counted
  (``scenarios.aborted`` -> how many aborted), numbers summed (``contracts.failed``),
  lists' lengths summed (``contracts.breaking_changes``); wrap the path in ``min()``,
  ``max()``, ``sum()`` or ``mean()`` to choose (``min(scenarios.score)``);
- ``[N]`` picks item N, ``[name]`` the item whose scenario/suite/edge/probe/fault_id is name;
- ``None`` anywhere means "not measured". Such a rule is reported as *not measured*, with the
  reason the scorecard gives (the ``not_measured`` of the enclosing section, e.g.
  ``policy.not_measured``), and does not fail the gate: a system without Cedar policies or
  declared side effects is judged on what it has. It fails when the rule says
  ``required: true``, or when the enclosing section says system.yaml declared it
  (``policy.declared``, ``integrity.declared``): declared but unmeasured is broken telemetry.
- A gate in which no rule was measured at all fails: it checked nothing.

Regression rules compare the same figure in the current run and the baseline
(``max_increase``/``max_increase_pct`` for lower-is-better figures,
``max_decrease``/``max_decrease_pct`` for higher-is-better ones). Without a baseline they
are reported as skipped, because CI often has no baseline on its first run.
"""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.model.scorecard import Scorecard

__all__ = [
    "GateFile", "GateResult", "RegressionRule", "Rule", "RuleOutcome",
    "evaluate", "load_gate", "parse_rule", "read_figure",
]

Op = Literal[">=", "<=", "==", "!=", "<", ">"]
_OPS: dict[str, Any] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
}
_AGGS = ("min", "max", "sum", "mean")
_RULE_RE = re.compile(r"^\s*(?P<figure>[^\s<>=!]+)\s*(?P<op>>=|<=|==|!=|<|>)\s*(?P<value>\S.*?)\s*$")
_FUNC_RE = re.compile(r"^(?P<agg>[a-z]+)\((?P<path>.+)\)$")
_SEG_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)?(?:\[(?P<sel>[^\[\]]+)\])?$")
_SELECT_KEYS = ("scenario", "suite", "edge", "probe", "fault_id", "metric", "workflow_id", "repeat")
_EPS = 1e-9


# ---------------------------------------------------------------- figure paths


def _segments(path: str) -> list[str]:
    """Split on dots outside brackets, so ``scenarios[v1.2].score`` keeps its selector whole."""
    out, cur, depth = [], "", 0
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        if ch == "." and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _split(figure: str) -> tuple[str | None, list[tuple[str | None, str | None]]]:
    """``max(scenarios[x].mttr.p95)`` -> ("max", [("scenarios", "x"), ("mttr", None), ("p95", None)])."""
    agg, path = None, figure.strip()
    m = _FUNC_RE.match(path)
    if m:
        agg, path = m["agg"], m["path"].strip()
        if agg not in _AGGS:
            raise ValueError(f"unknown function {agg}(); use one of {', '.join(_AGGS)}")
    if not path:
        raise ValueError("empty figure path")
    segs: list[tuple[str | None, str | None]] = []
    for raw in _segments(path):
        sm = _SEG_RE.match(raw)
        if not raw or sm is None or (sm["name"] is None and sm["sel"] is None):
            raise ValueError(f"bad path segment {raw!r} in {figure!r}")
        segs.append((sm["name"], sm["sel"].strip() if sm["sel"] else None))
    return agg, segs


def _unwrap(tp: Any) -> Any:
    """Optional[X] -> X."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _field_type(tp: Any, key: str, figure: str) -> Any:
    if typing.get_origin(tp) is dict:
        return typing.get_args(tp)[1]  # any key: phases.inject, pass_k.3, by_phase.recover
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = tp.model_fields
        if key in fields:
            return fields[key].annotation
        if isinstance(getattr(tp, key, None), property):
            return bool  # integrity.ok
        raise ValueError(f"{figure!r}: no field {key!r} here; known: {', '.join(sorted(fields))}")
    raise ValueError(f"{figure!r}: {key!r} is below a plain value")


def check_figure(figure: str) -> None:
    """Raise ValueError unless ``figure`` names something a Scorecard can hold."""
    _, segs = _split(figure)
    tp: Any = Scorecard
    for name, sel in segs:
        if name is not None:
            tp = _unwrap(tp)
            while typing.get_origin(tp) in (list, tuple):  # a name after a list maps over its items
                tp = _unwrap(typing.get_args(tp)[0])
            tp = _field_type(tp, name, figure)
        if sel is not None:
            tp = _unwrap(tp)
            if typing.get_origin(tp) not in (list, tuple):
                raise ValueError(f"{figure!r}: [{sel}] used on something that is not a list")
            tp = typing.get_args(tp)[0]


def _select(items: list[Any], sel: str) -> Any:
    if re.fullmatch(r"-?\d+", sel):
        i = int(sel)
        return items[i] if -len(items) <= i < len(items) else None
    for item in items:
        if isinstance(item, dict) and any(str(item.get(k)) == sel for k in _SELECT_KEYS if k in item):
            return item
    return None


def _walk(node: Any, segs: list[tuple[str | None, str | None]]) -> Any:
    for idx, (name, sel) in enumerate(segs):
        if node is None:
            return None
        if name is not None:
            if isinstance(node, list):
                return [_walk(item, segs[idx:]) for item in node]
            node = node.get(name) if isinstance(node, dict) else None
        if sel is not None:
            if not isinstance(node, list):
                return None
            node = _select(node, sel)
    return node


def _combine(values: list[Any], agg: str | None) -> float | None:
    flat: list[float] = []
    for v in values:
        if isinstance(v, list):
            if v and all(isinstance(x, list | bool | int | float) or x is None for x in v) and \
                    any(isinstance(x, list | bool | int | float) for x in v):
                sub = _combine(v, agg)
                if sub is not None:
                    flat.append(sub)
            else:
                flat.append(float(len(v)))
        elif isinstance(v, bool):
            flat.append(1.0 if v else 0.0)
        elif isinstance(v, int | float):
            flat.append(float(v))
    if not flat:
        # nothing to count is 0; values that exist but were all unmeasured are "not measured"
        unmeasured = bool(values) and all(v is None for v in values)
        return None if agg in ("min", "max", "mean") or unmeasured else 0.0
    if agg == "min":
        return min(flat)
    if agg == "max":
        return max(flat)
    if agg == "mean":
        return sum(flat) / len(flat)
    return sum(flat)


def read_figure(card: Scorecard, figure: str) -> Any:
    """The value of ``figure`` in ``card``: a number, bool, string, or None (not measured)."""
    agg, segs = _split(figure)
    data = card.model_dump(mode="json")
    data["integrity"]["ok"] = card.integrity.ok
    value = _walk(data, segs)
    if isinstance(value, list) and agg is None:
        # a list of scalars from mapping (scenarios.aborted) is combined; a list of objects counted
        if value and all(isinstance(v, dict) for v in value):
            return len(value)
        return _combine(value, None) if value else 0
    if agg is not None:
        return _combine(value if isinstance(value, list) else [value], agg)
    return value


# ---------------------------------------------------------------- rule file


def _parse_value(text: str) -> float | bool | str:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(t)
    except ValueError:
        return t


def parse_rule(text: str) -> dict[str, Any]:
    """``"mttr.p95 <= 5"`` -> ``{"figure": "mttr.p95", "op": "<=", "value": 5.0}``."""
    m = _RULE_RE.match(text)
    if m is None:
        raise ValueError(f"cannot read rule {text!r}; write it as 'FIGURE OP VALUE', e.g. 'mttr.p95 <= 5'")
    return {"figure": m["figure"], "op": m["op"], "value": _parse_value(m["value"])}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("figure", check_fields=False)
    @classmethod
    def _known_figure(cls, v: str) -> str:
        check_figure(v)
        return v


class Rule(_Strict):
    """``figure op value``; in YAML either that string or a mapping with these fields."""

    figure: str
    op: Op
    value: float | bool | str
    name: str | None = None
    required: bool = Field(default=False, description="fail when the figure was not measured")
    allow_missing: bool = Field(default=False, description="deprecated: not measured never fails unless required")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return parse_rule(data) if isinstance(data, str) else data

    @model_validator(mode="after")
    def _ordered_needs_number(self) -> Rule:
        if self.op not in ("==", "!=") and not isinstance(self.value, int | float):
            raise ValueError(f"operator {self.op} needs a number, got {self.value!r}")
        return self

    @property
    def label(self) -> str:
        return self.name or f"{self.figure} {self.op} {_fmt(self.value)}"


class RegressionRule(_Strict):
    """How much worse than the baseline a figure may get."""

    figure: str
    max_increase: float | None = Field(default=None, ge=0)
    max_increase_pct: float | None = Field(default=None, ge=0)
    max_decrease: float | None = Field(default=None, ge=0)
    max_decrease_pct: float | None = Field(default=None, ge=0)
    name: str | None = None
    required: bool = False
    allow_missing: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> RegressionRule:
        given = [k for k in ("max_increase", "max_increase_pct", "max_decrease", "max_decrease_pct")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a regression rule needs exactly one of max_increase, max_increase_pct, "
                             "max_decrease, max_decrease_pct")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        for key, text in (("max_increase_pct", "not more than {}% higher"), ("max_increase", "not more than {} higher"),
                          ("max_decrease_pct", "not more than {}% lower"), ("max_decrease", "not more than {} lower")):
            if getattr(self, key) is not None:
                return f"{self.figure} vs baseline: " + text.format(_fmt(getattr(self, key)))
        return self.figure


class GateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    rules: list[Rule] = Field(default_factory=list)
    regressions: list[RegressionRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> GateFile:
        if not self.rules and not self.regressions:
            raise ValueError("a gate file needs at least one entry under 'rules' or 'regressions'")
        return self


def load_gate(path: str | Path) -> GateFile:
    """Load and validate a gate file; ConfigError names file:line:field on bad input."""
    from harness.model.loader import load_file

    return load_file(path, GateFile)


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    required: str
    actual: str
    status: Literal["pass", "fail", "skip", "unmeasured"]
    reason: str = ""


@dataclass(frozen=True)
class GateResult:
    outcomes: list[RuleOutcome]

    @property
    def passed(self) -> bool:
        return not self.nothing_measured and all(o.status != "fail" for o in self.outcomes)

    @property
    def nothing_measured(self) -> bool:
        """No rule could be judged on a measured value: such a gate checked nothing."""
        return not any(o.status in ("pass", "fail") for o in self.outcomes)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failures(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "fail"]

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def _fmt(v: Any) -> str:
    if v is None:
        return "not measured"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        return f"{v:.4g}"
    return str(v)


def _compare(actual: Any, op: str, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(actual, bool):
        if op not in ("==", "!="):
            return False
        a = bool(actual) if isinstance(actual, bool | int | float) else actual
        return _OPS[op](a, want)
    if isinstance(want, int | float) and isinstance(actual, int | float):
        if op == "==":
            return abs(actual - want) <= _EPS * max(1.0, abs(want))
        if op == "!=":
            return abs(actual - want) > _EPS * max(1.0, abs(want))
        return bool(_OPS[op](actual, want))
    if op in ("==", "!="):
        return _OPS[op](str(actual), str(want))
    return False


def _check_rule(card: Scorecard, rule: Rule) -> RuleOutcome:
    actual = read_figure(card, rule.figure)
    required = f"{rule.op} {_fmt(rule.value)}"
    if actual is None:
        return _unmeasured(card, rule.figure, rule.label, required, required_by_rule=rule.required)
    ok = _compare(actual, rule.op, rule.value)
    return RuleOutcome(rule.label, required, _fmt(actual), "pass" if ok else "fail",
                       "" if ok else f"{rule.figure} is {_fmt(actual)}, required {required}")


def _section(card: Scorecard, figure: str) -> dict[str, Any]:
    """The deepest object on ``figure``'s path: where a scorecard says why it has no value."""
    _agg, segs = _split(figure)
    node: Any = card.model_dump(mode="json")
    found: dict[str, Any] = {}
    for seg in segs[:-1]:
        node = _walk(node, [seg])
        if not isinstance(node, dict):
            break
        found = node
    return found


def _unmeasured(card: Scorecard, figure: str, label: str, required: str, *,
                required_by_rule: bool) -> RuleOutcome:
    section = _section(card, figure)
    reason = section.get("not_measured") or f"the scorecard has no value for {figure}"
    if section.get("declared"):
        return RuleOutcome(label, required, "not measured", "fail",
                           f"declared in system.yaml but not measured: {reason}")
    if required_by_rule:
        return RuleOutcome(label, required, "not measured", "fail", f"required but not measured: {reason}")
    return RuleOutcome(label, required, "not measured", "unmeasured", reason)


def _check_regression(card: Scorecard, base: Scorecard | None, rule: RegressionRule) -> RuleOutcome:
    if rule.max_increase is not None:
        required = f"<= baseline + {_fmt(rule.max_increase)}"
    elif rule.max_increase_pct is not None:
        required = f"<= baseline + {_fmt(rule.max_increase_pct)}%"
    elif rule.max_decrease is not None:
        required = f">= baseline - {_fmt(rule.max_decrease)}"
    else:
        required = f">= baseline - {_fmt(rule.max_decrease_pct)}%"
    if base is None:
        return RuleOutcome(rule.label, required, "no baseline", "skip", "no baseline given")
    now, before = read_figure(card, rule.figure), read_figure(base, rule.figure)
    if before is None or not isinstance(before, int | float):
        return RuleOutcome(rule.label, required, _fmt(now), "skip", "not measured in the baseline")
    if now is None or not isinstance(now, int | float):
        return _unmeasured(card, rule.figure, rule.label, required, required_by_rule=rule.required)
    change = float(now) - float(before)
    if rule.max_increase is not None:
        ok, limit = change <= rule.max_increase + _EPS, float(before) + rule.max_increase
    elif rule.max_decrease is not None:
        ok, limit = -change <= rule.max_decrease + _EPS, float(before) - rule.max_decrease
    elif rule.max_increase_pct is not None:
        limit = float(before) + abs(float(before)) * rule.max_increase_pct / 100
        ok = float(now) <= limit + _EPS
    else:
        assert rule.max_decrease_pct is not None
        limit = float(before) - abs(float(before)) * rule.max_decrease_pct / 100
        ok = float(now) >= limit - _EPS
    pct = "" if before == 0 else f", {change / abs(float(before)) * 100:+.1f}%"
    actual = f"{_fmt(now)} (baseline {_fmt(before)}{pct})"
    reason = "" if ok else f"{rule.figure} {_fmt(before)} -> {_fmt(now)}, limit {_fmt(limit)}"
    return RuleOutcome(rule.label, required.replace("baseline", _fmt(before), 1), actual,
                       "pass" if ok else "fail", reason)


def evaluate(card: Scorecard, gate: GateFile, baseline: Scorecard | None = None) -> GateResult:
    """Check every rule; pure (no I/O), so the CLI and tests share it."""
    outcomes = [_check_rule(card, r) for r in gate.rules]
    outcomes += [_check_regression(card, baseline, r) for r in gate.regressions]
    return GateResult(outcomes)
