"""Figure paths: checking them against the scorecard model and reading them from a scorecard.

A path is checked when the gate file is loaded (so a typo is exit 2, not a rule that
silently never passes) and read when the gate is evaluated. Reading gives a
:class:`Reading`: the value, or ``None`` with the reason the scorecard gives for not
having it and whether system.yaml declared it; the gate's verdict on a ``None`` depends
on both (see ``harness.gate.judge``).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from harness.model.scorecard import Scorecard

Kind = Literal["number", "bool", "text"]

AGGS = ("min", "max", "sum", "mean")
_FUNC_RE = re.compile(r"^(?P<agg>[a-z]+)\((?P<path>.+)\)$")
_SEG_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)?(?:\[(?P<sel>[^\[\]]+)\])?$")
_SELECT_KEYS = ("scenario", "suite", "edge", "probe", "fault_id", "metric", "workflow_id", "repeat")

# Sections whose ``not_measured`` covers every figure in them. Policy figures all come from
# the agent actions checked against the policies, so without those none of them means
# anything (0 violations of no policies is not a pass). Integrity's reason is about
# duplicates only: lost work is counted from the workflows themselves and stays measured,
# so there only ``duplicated`` (and ``ok`` without lost work) read None.
_ALL_OR_NOTHING = frozenset({"policy"})

Segment = tuple[str | None, str | None]


@dataclass(frozen=True)
class FigureSpec:
    """What a checked figure yields: its kind, and for a closed set of words (``verdict``) the words."""

    kind: Kind
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    """A figure read from a scorecard; ``value is None`` means not measured, and ``reason`` says why."""

    value: Any
    reason: str = ""
    declared: bool = False  # the enclosing section says system.yaml declared what this figure measures


class _Mapped(list[Any]):
    """Values a name collected from every item of a list (``scenarios.score``), as opposed to a
    list the scorecard holds (``integrity.lost``): an empty one means there was nothing to read."""


# ---------------------------------------------------------------- parsing


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


def split_figure(figure: str) -> tuple[str | None, list[Segment]]:
    """``max(scenarios[x].mttr.p95)`` -> ("max", [("scenarios", "x"), ("mttr", None), ("p95", None)])."""
    agg, path = None, figure.strip()
    m = _FUNC_RE.match(path)
    if m:
        agg, path = m["agg"], m["path"].strip()
        if agg not in AGGS:
            raise ValueError(f"unknown function {agg}(); use one of {', '.join(AGGS)}")
    if not path:
        raise ValueError("empty figure path")
    segs: list[Segment] = []
    for raw in _segments(path):
        sm = _SEG_RE.match(raw)
        if not raw or sm is None or (sm["name"] is None and sm["sel"] is None):
            raise ValueError(f"bad path segment {raw!r} in {figure!r}")
        segs.append((sm["name"], sm["sel"].strip() if sm["sel"] else None))
    return agg, segs


# ---------------------------------------------------------------- checking against the model


def _unwrap(tp: Any) -> Any:
    """Optional[X] -> X."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _is_list(tp: Any) -> bool:
    return typing.get_origin(tp) in (list, tuple)


def _is_object(tp: Any) -> bool:
    return typing.get_origin(tp) is dict or (isinstance(tp, type) and issubclass(tp, BaseModel))


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


def _known(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"; name one of its fields: {', '.join(sorted(tp.model_fields))}"
    return "; name one of its keys"


def check_figure(figure: str) -> FigureSpec:
    """What ``figure`` yields; ValueError unless it names a value a Scorecard can hold."""
    agg, segs = split_figure(figure)
    tp: Any = Scorecard
    mapped = False
    for name, sel in segs:
        if name is not None:
            tp = _unwrap(tp)
            while _is_list(tp):  # a name after a list maps over its items
                mapped = True
                tp = _unwrap(typing.get_args(tp)[0])
            tp = _field_type(tp, name, figure)
        if sel is not None:
            tp = _unwrap(tp)
            if not _is_list(tp):
                raise ValueError(f"{figure!r}: [{sel}] used on something that is not a list")
            tp = typing.get_args(tp)[0]
    tp = _unwrap(tp)
    if _is_list(tp):
        return FigureSpec("number")  # counted
    if _is_object(tp):
        raise ValueError(f"{figure!r} is an object, not a value{_known(tp)}")
    if typing.get_origin(tp) is Literal:
        spec = FigureSpec("text", tuple(str(a) for a in typing.get_args(tp)))
    elif tp is bool:
        spec = FigureSpec("bool")
    elif tp in (int, float):
        spec = FigureSpec("number")
    else:
        spec = FigureSpec("text")
    if (mapped or agg) and spec.kind == "text":
        raise ValueError(f"{figure!r}: text values cannot be counted or combined; pick one item with [name]")
    return FigureSpec("number") if mapped or agg else spec


# ---------------------------------------------------------------- reading


def _select(items: list[Any], sel: str) -> Any:
    if re.fullmatch(r"-?\d+", sel):
        i = int(sel)
        return items[i] if -len(items) <= i < len(items) else None
    for item in items:
        if isinstance(item, dict) and any(str(item.get(k)) == sel for k in _SELECT_KEYS if k in item):
            return item
    return None


def _walk(node: Any, segs: list[Segment]) -> Any:
    for idx, (name, sel) in enumerate(segs):
        if node is None:
            return None
        if name is not None:
            if isinstance(node, list):
                return _Mapped(_walk(item, segs[idx:]) for item in node)
            node = node.get(name) if isinstance(node, dict) else None
        if sel is not None:
            if not isinstance(node, list):
                return None
            node = _select(node, sel)
    return node


def _flatten(values: list[Any]) -> list[float]:
    """Numbers from mapped values: booleans count, lists count their items, None is skipped."""
    flat: list[float] = []
    for v in values:
        if isinstance(v, _Mapped):
            flat.extend(_flatten(v))
        elif isinstance(v, list):
            flat.append(float(len(v)))
        elif isinstance(v, bool):
            flat.append(1.0 if v else 0.0)
        elif isinstance(v, int | float):
            flat.append(float(v))
    return flat


def _combine(values: list[Any], agg: str | None) -> float | None:
    """min/max/mean/sum (default) of the numbers in ``values``; None when there are none."""
    flat = _flatten(values)
    if not flat:
        return None
    if agg == "min":
        return min(flat)
    if agg == "max":
        return max(flat)
    if agg == "mean":
        return sum(flat) / len(flat)
    return sum(flat)


def _scorecard_data(card: Scorecard) -> dict[str, Any]:
    data = card.model_dump(mode="json")
    integrity = card.integrity
    # lost work is a measured failure even when duplicates were not measured
    data["integrity"]["ok"] = False if integrity.lost else (None if integrity.duplicated is None else True)
    return data


def _sections(data: dict[str, Any], segs: list[Segment]) -> list[tuple[str, dict[str, Any]]]:
    """The objects enclosing the figure, outermost first, up to the first list it maps over."""
    out: list[tuple[str, dict[str, Any]]] = []
    node: Any = data
    for name, sel in segs[:-1]:
        node = _walk(node, [(name, sel)])
        if not isinstance(node, dict):
            break
        out.append((name if sel is None else "", node))
    return out


def _label(segs: list[Segment]) -> str:
    return ".".join(f"{n or ''}[{s}]" if s else n or "" for n, s in segs)


def _gap(data: dict[str, Any], segs: list[Segment]) -> str | None:
    """Where a figure's path ran out: an empty list it maps over (``contracts`` for
    ``contracts.failed``) or an item a selector did not find (``scenarios[x]``)."""
    node: Any = data
    for idx, (name, sel) in enumerate(segs):
        if isinstance(node, list) and name is not None:
            return None if node else _label(segs[:idx]) or "items"
        node = _walk(node, [(name, sel)])
        if node is None:
            selected_from = _walk(data, [*segs[:idx], (name, None)])
            return _label(segs[:idx + 1]) if sel is not None and isinstance(selected_from, list) else None
    return None


def measure(card: Scorecard, figure: str) -> Reading:
    """Read ``figure`` from ``card``, with the reason and declaration behind a missing value.

    The reason is the ``not_measured`` of the nearest enclosing object that has one, else a
    generic one; ``declared`` is the nearest enclosing ``declared`` (true or a non-empty list).
    """
    agg, segs = split_figure(figure)
    data = _scorecard_data(card)
    sections = _sections(data, segs)
    reason = next((s["not_measured"] for _, s in reversed(sections)
                   if isinstance(s.get("not_measured"), str) and s["not_measured"]), "")
    declared = next((bool(s["declared"]) for _, s in reversed(sections) if "declared" in s), False)
    if sections and sections[0][0] in _ALL_OR_NOTHING and sections[0][1].get("not_measured"):
        return Reading(None, reason, declared)
    value = _walk(data, segs)
    if isinstance(value, _Mapped) or agg is not None:
        value = _combine(value if isinstance(value, _Mapped) else [value], agg)
    elif isinstance(value, list):
        value = len(value)  # a list the scorecard holds counts its items
    if value is not None:
        return Reading(value)
    gap = _gap(data, segs)
    if gap is not None:
        return Reading(None, f"the scorecard has no {gap} to read {figure} from", declared)
    return Reading(None, reason or f"the scorecard has no value for {figure}", declared)


def read_figure(card: Scorecard, figure: str) -> Any:
    """The value of ``figure`` in ``card``: a number, bool, string, or None (not measured)."""
    return measure(card, figure).value
