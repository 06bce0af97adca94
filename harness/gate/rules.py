"""The gate file (``gate.yaml``): threshold rules and regression rules, validated on load.

Every mistake that would make a rule meaningless is caught here as a usage error naming
file:line and field (exit 2): an unknown figure, a figure that names an object, an
ordered operator on text, a word ``verdict`` can never be, a regression on text. A rule
that could never be judged must not reach evaluation, where it would read as a failure
of the system (or worse, pass).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.gate.figures import check_figure

Op = Literal[">=", "<=", "==", "!=", "<", ">"]
OPS = (">=", "<=", "==", "!=", "<", ">")
_RULE_RE = re.compile(r"^\s*(?P<figure>[^\s<>=!]+)\s*(?P<op>>=|<=|==|!=|<|>)\s*(?P<value>\S.*?)\s*$")


def fmt(v: Any) -> str:
    """A value as the table shows it: ``None`` is "not measured", never blank or 0."""
    if v is None:
        return "not measured"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        return f"{v:.4g}"
    return str(v)


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

    @model_validator(mode="after")
    def _required_or_allowed(self) -> Any:
        if getattr(self, "required", False) and getattr(self, "allow_missing", None) is True:
            raise ValueError("required: true and allow_missing: true contradict each other; "
                             "drop allow_missing (deprecated)")
        return self

    @property
    def must_be_measured(self) -> bool:
        """``required: true``, or the deprecated ``allow_missing: false`` that meant the same."""
        return bool(getattr(self, "required", False)) or getattr(self, "allow_missing", None) is False


_MISSING_HELP = ("deprecated: not measured never fails unless required, so 'true' is the default "
                 "and 'false' means required: true")


class Rule(_Strict):
    """``figure op value``; in YAML either that string or a mapping with these fields."""

    figure: str
    op: Op
    value: float | bool | str
    name: str | None = None
    required: bool = Field(default=False, description="fail when the figure was not measured")
    allow_missing: bool | None = Field(default=None, description=_MISSING_HELP)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return parse_rule(data) if isinstance(data, str) else data

    @model_validator(mode="after")
    def _value_fits_figure(self) -> Rule:
        if self.op not in ("==", "!=") and not isinstance(self.value, int | float):
            raise ValueError(f"operator {self.op} needs a number, got {self.value!r}")
        spec = check_figure(self.figure)
        if spec.kind == "text":
            if self.op not in ("==", "!="):
                raise ValueError(f"{self.figure} is text; {self.op} needs a number")
            if spec.words and str(self.value) not in spec.words:
                raise ValueError(f"{self.figure} is one of {', '.join(spec.words)}, never {fmt(self.value)!r}")
        elif spec.kind == "number" and isinstance(self.value, str):
            raise ValueError(f"{self.figure} is a number; {self.value!r} is not")
        elif spec.kind == "bool" and isinstance(self.value, str):
            raise ValueError(f"{self.figure} is true or false; {self.value!r} is neither")
        return self

    @property
    def bound(self) -> str:
        return f"{self.op} {fmt(self.value)}"

    @property
    def label(self) -> str:
        return self.name or f"{self.figure} {self.bound}"


class RegressionRule(_Strict):
    """How much worse than the baseline a figure may get."""

    figure: str
    max_increase: float | None = Field(default=None, ge=0)
    max_increase_pct: float | None = Field(default=None, ge=0)
    max_decrease: float | None = Field(default=None, ge=0)
    max_decrease_pct: float | None = Field(default=None, ge=0)
    name: str | None = None
    required: bool = Field(default=False, description="fail when the run or the baseline did not measure it")
    allow_missing: bool | None = Field(default=None, description=_MISSING_HELP)

    @model_validator(mode="after")
    def _exactly_one(self) -> RegressionRule:
        given = [k for k in ("max_increase", "max_increase_pct", "max_decrease", "max_decrease_pct")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a regression rule needs exactly one of max_increase, max_increase_pct, "
                             "max_decrease, max_decrease_pct")
        if check_figure(self.figure).kind != "number":
            raise ValueError(f"a regression compares numbers; {self.figure} is not one")
        return self

    @property
    def bound(self) -> str:
        """The limit, relative to the baseline (``<= baseline + 20%``)."""
        if self.max_increase is not None:
            return f"<= baseline + {fmt(self.max_increase)}"
        if self.max_increase_pct is not None:
            return f"<= baseline + {fmt(self.max_increase_pct)}%"
        if self.max_decrease is not None:
            return f">= baseline - {fmt(self.max_decrease)}"
        return f">= baseline - {fmt(self.max_decrease_pct)}%"

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        for key, text in (("max_increase_pct", "not more than {}% higher"), ("max_increase", "not more than {} higher"),
                          ("max_decrease_pct", "not more than {}% lower"), ("max_decrease", "not more than {} lower")):
            if getattr(self, key) is not None:
                return f"{self.figure} vs baseline: " + text.format(fmt(getattr(self, key)))
        return self.figure


class GateFile(BaseModel):
    """A whole ``gate.yaml``: at least one rule, since a gate of nothing checks nothing."""

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
