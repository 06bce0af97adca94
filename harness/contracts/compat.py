"""Schema compatibility: is NEW JSON Schema still what callers of OLD relied on?

Breaking means "a caller that worked against OLD can fail against NEW". Schemas are
compared with a direction, because the same edit is safe on one side and breaking on
the other:

- **input** (what callers send: request bodies, parameters, MCP ``inputSchema``, A2A
  skill input): a new required field, a narrowed type, a removed enum value or a
  tightened bound is breaking; a new optional field or a widened type is not.
- **output** (what callers receive: responses, ``outputSchema``, skill output): a removed
  field, a field no longer required, a changed/widened type or a new enum value the
  caller cannot know is breaking; a new field is not.

Type changes are named precisely: integer -> number is *widened*, number -> integer
*narrowed*, integer -> string *changed* (``BREAKING_TYPE_CHANGES`` says which break whom).
Only promises are judged: a schema that promises nothing (``{}``, an object without
``properties``, what FastAPI emits for a handler returning ``dict``) loses nothing, and a
document diffed against itself has no changes at all.

Renames show up as a removed field plus an added one; the message says "possibly
renamed to ..." when the added field has the same schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["input", "output"]


@dataclass(frozen=True)
class Change:
    """One difference between two contract versions; ``breaking`` when a caller that worked
    against the old version can fail against the new one."""

    breaking: bool
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class _Refs:
    """Resolves local ``#/...`` refs of one document (depth-limited against cycles)."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def resolve(self, schema: Any, depth: int = 0) -> Any:
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and depth < 20:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                return {}
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
            schema, depth = node, depth + 1
        return schema


def _types(schema: dict[str, Any]) -> set[str] | None:
    t = schema.get("type")
    if t is None:
        variants = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(variants, list):
            out: set[str] = set()
            for v in variants:
                vt = _types(v) if isinstance(v, dict) else None
                if vt is None:
                    return None
                out |= vt
            return out
        return None
    types = {t} if isinstance(t, str) else set(t)
    if schema.get("nullable"):
        types.add("null")
    return types


def _covers(wide: set[str], narrow: set[str]) -> bool:
    """Every type in ``narrow`` is accepted by ``wide`` (number accepts integer)."""
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


TypeChange = Literal["widened", "narrowed", "changed"]
# Which type changes break a caller, by direction: a caller *sends* inputs, so it breaks
# when the provider accepts less (narrowed, changed); it *receives* outputs, so it breaks
# when the provider may send more than it knew (widened, changed). Kept as a table because
# docs/contracts.md publishes the same one.
BREAKING_TYPE_CHANGES: dict[Direction, frozenset[TypeChange]] = {
    "input": frozenset({"narrowed", "changed"}),
    "output": frozenset({"widened", "changed"}),
}


def type_change(old: set[str], new: set[str]) -> TypeChange | None:
    """How the set of accepted JSON types moved: ``widened`` (new accepts all old did and
    more, e.g. integer -> number), ``narrowed`` (the reverse), ``changed`` (each accepts
    something the other does not, e.g. integer -> string), None (the same values)."""
    wider, narrower = _covers(new, old), _covers(old, new)
    if wider and narrower:
        return None
    return "widened" if wider else "narrowed" if narrower else "changed"


def _type_names(types: set[str]) -> str:
    return next(iter(types)) if len(types) == 1 else str(sorted(types))


def promises_nothing(schema: Any) -> bool:
    """True for a schema that constrains nothing: ``{}``, only annotations (title,
    description, ...), or ``True``. FastAPI emits these for handlers returning ``dict``/
    ``Any``; a contract cannot lose or break a promise it never made."""
    if schema is True or schema is None:
        return True
    if not isinstance(schema, dict):
        return False
    return not (set(schema) - _ANNOTATIONS)


_ANNOTATIONS = frozenset({"title", "description", "examples", "example", "default", "deprecated", "readOnly",
                          "writeOnly", "$comment", "$schema", "$id", "x-examples"})


def _flatten(schema: Any, refs: _Refs) -> Any:
    """Resolve ``$ref`` and merge ``allOf`` parts (pydantic wraps a described ``$ref`` in
    one), so properties behind either are compared like inline ones."""
    schema = refs.resolve(schema)
    parts = schema.get("allOf") if isinstance(schema, dict) else None
    if not isinstance(parts, list) or not all(isinstance(refs.resolve(p), dict) for p in parts):
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in (_flatten(p, refs) for p in parts):
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            else:
                merged.setdefault(key, value)
    return merged


def compare_schema(old: Any, new: Any, where: str, direction: Direction, *, old_refs: _Refs | None = None,
                   new_refs: _Refs | None = None, depth: int = 0, observed: bool = False) -> list[Change]:
    """Changes from ``old`` to ``new`` JSON Schema, judged for ``direction``.

    Only what a schema promises is judged: an old schema that promises nothing (``{}``,
    an object without ``properties``) cannot lose a field. ``observed`` says ``old`` is no
    promise but the shape of what a consumer received (inferred from a recorded body, as
    can-i-deploy does): then a part ``new`` leaves untyped is noted as unchecked instead of
    reported as removed, and a field ``new`` declares but does not require is a note.
    """
    old_refs, new_refs = old_refs or _Refs(old), new_refs or _Refs(new)
    old, new = _flatten(old, old_refs), _flatten(new, new_refs)
    if not isinstance(old, dict) or depth > 12:
        return []
    if observed and promises_nothing(new):
        return [Change(False, where, "not checked: the contract leaves this untyped (promises nothing)")]
    if not isinstance(new, dict):
        return []
    variants = new.get("anyOf") or new.get("oneOf")
    if observed and isinstance(variants, list) and variants and "properties" not in new:
        # What was received is one of the alternatives (``Optional[Model]`` is anyOf Model|null):
        # judge it against the variant it fits best.
        attempts = [compare_schema(old, v, where, direction, old_refs=old_refs, new_refs=new_refs,
                                   depth=depth + 1, observed=True) for v in variants]
        return min(attempts, key=lambda cs: (sum(c.breaking for c in cs), len(cs)))
    out: list[Change] = []
    ot, nt = _types(old), _types(new)
    moved = type_change(ot, nt) if ot is not None and nt is not None else None
    if moved is not None:
        out.append(Change(moved in BREAKING_TYPE_CHANGES[direction], where,
                          f"type {moved} from {_type_names(ot or set())} to {_type_names(nt or set())}"))
    oe, ne = old.get("enum"), new.get("enum")
    if isinstance(oe, list) and isinstance(ne, list):
        removed, added = [v for v in oe if v not in ne], [v for v in ne if v not in oe]
        if removed:
            out.append(Change(direction == "input", where, f"enum values removed: {removed}"))
        if added:
            out.append(Change(direction == "output", where, f"enum values added: {added}"))
    elif isinstance(ne, list) and oe is None:
        out.append(Change(direction == "input", where, f"now restricted to enum {ne}"))
    if direction == "input":
        for key, tighter in (("maxLength", min), ("maximum", min), ("maxItems", min),
                             ("minLength", max), ("minimum", max), ("minItems", max)):
            o, n = old.get(key), new.get(key)
            if isinstance(n, int | float) and (o is None or (tighter(o, n) == n and o != n)):
                out.append(Change(True, where, f"{key} tightened from {o} to {n}"))
    out += _compare_props(old, new, where, direction, old_refs, new_refs, depth, observed)
    oi, ni = old.get("items"), new.get("items")
    if isinstance(oi, dict) and (isinstance(ni, dict) or (observed and ni is None)):
        out += compare_schema(oi, ni, f"{where}[]", direction, old_refs=old_refs, new_refs=new_refs,
                              depth=depth + 1, observed=observed)
    for key in ("anyOf", "oneOf"):
        ov, nv = old.get(key), new.get(key)
        if isinstance(ov, list) and isinstance(nv, list) and len(ov) == len(nv):
            for i, (a, b) in enumerate(zip(ov, nv, strict=True)):
                out += compare_schema(a, b, f"{where}<{key}[{i}]>", direction, old_refs=old_refs,
                                      new_refs=new_refs, depth=depth + 1, observed=observed)
    return out


def _compare_props(old: dict[str, Any], new: dict[str, Any], where: str, direction: Direction,
                   old_refs: _Refs, new_refs: _Refs, depth: int, observed: bool = False) -> list[Change]:
    out: list[Change] = []
    op, np_ = old.get("properties") or {}, new.get("properties") or {}
    if observed and op and "properties" not in new and new.get("additionalProperties") is not False:
        extra = new.get("additionalProperties")
        if isinstance(extra, dict) and not promises_nothing(extra):  # a map: every value has this schema
            for key in op:
                out += compare_schema(op[key], extra, f"{where}.{key}", direction, old_refs=old_refs,
                                      new_refs=new_refs, depth=depth + 1, observed=True)
            return out
        return [Change(False, where, f"not checked: the contract declares no properties, so fields "
                                     f"{sorted(op)} are not promised either way")]
    oreq, nreq = set(old.get("required") or []), set(new.get("required") or [])
    added = [k for k in np_ if k not in op]
    for key in op:
        path = f"{where}.{key}"
        if key not in np_:
            twin = next((a for a in added if _same(old_refs.resolve(op[key]), new_refs.resolve(np_[a]))), None)
            hint = f" (possibly renamed to '{twin}')" if twin else ""
            if direction == "output" and observed:
                out.append(Change(True, path, f"field '{key}' the consumer received is not promised by the new "
                                              f"version{hint}"))
            elif direction == "output":
                out.append(Change(True, path, f"field '{key}' removed{hint}"))
            else:
                closed = new.get("additionalProperties") is False
                out.append(Change(closed and key in oreq, path, f"input field '{key}' removed{hint}"))
            continue
        if direction == "output" and key in oreq and key not in nreq:
            out.append(Change(not observed, path, f"field '{key}' is no longer required (callers may not get it)"
                              if not observed else f"field '{key}' is optional in the contract (the consumer "
                              "got it, and may not always)"))
        if direction == "input" and key in nreq and key not in oreq:
            out.append(Change(True, path, f"input field '{key}' became required"))
        out += compare_schema(op[key], np_[key], path, direction, old_refs=old_refs, new_refs=new_refs,
                              depth=depth + 1, observed=observed)
    for key in added:
        path = f"{where}.{key}"
        if direction == "input" and key in nreq:
            out.append(Change(True, path, f"new required input field '{key}'"))
        elif not observed:
            out.append(Change(False, path, f"field '{key}' added"))
    if direction == "input" and old.get("additionalProperties") is not False \
            and new.get("additionalProperties") is False and op:
        out.append(Change(True, where, "no longer accepts additional properties"))
    return out


def _same(a: Any, b: Any) -> bool:
    strip = ("title", "description")
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}
    return bool(a == b)


def infer_schema(example: Any) -> dict[str, Any]:
    """A schema that an example value *promises*: every key present is required, types as
    seen (numbers as ``number``, so 5 and 5.0 agree)."""
    if isinstance(example, dict):
        return {"type": "object", "required": list(example),
                "properties": {k: infer_schema(v) for k, v in example.items()}}
    if isinstance(example, list):
        return {"type": "array", "items": infer_schema(example[0])} if example else {"type": "array"}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int | float):
        return {"type": "number"}
    if example is None:
        return {"type": "null"}
    return {"type": "string"}
