"""Compatibility diff between two versions of a contract.

Kinds (auto-detected from content by the protocols of ``harness.contracts.catalog``):
OpenAPI documents, A2A agent cards, MCP tool lists (``{"tools": [...]}``, a bare list, or a
``tools/list`` JSON-RPC response) and Pact files.
Each document is taken apart into its schemas, which ``harness.contracts.compat``
compares with a direction (input: what callers send; output: what they receive), plus
the document-level promises: endpoints, status codes, parameters, skills, tools,
interfaces and capabilities.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.contracts.compat import Change, _Refs, compare_schema, infer_schema
from harness.errors import ConfigError
from harness.model.loader import read_text_file

Kind = str  # a protocol name of harness.contracts.catalog
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


# --------------------------------------------------------------------------- loading


def load_doc(path: str | Path) -> Any:
    """Read a JSON or YAML contract file; ConfigError (exit 2) on anything unreadable."""
    p = Path(path)
    return parse_doc(read_text_file(p), str(p), json_only=p.suffix.lower() == ".json")


def parse_doc(text: str, name: str, *, json_only: bool = False) -> Any:
    """JSON, else YAML (OpenAPI documents come in both); ConfigError naming ``name``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if json_only:
            raise ConfigError(f"invalid JSON: {exc.msg}", path=name, line=exc.lineno) from None
    from harness.model.loader import _plain, parse_yaml_text

    return _plain(parse_yaml_text(text, name))


def mcp_tools(doc: Any) -> dict[str, dict[str, Any]]:
    """Tool name -> tool dict from any of the accepted MCP tool-list shapes."""
    if isinstance(doc, dict):
        doc = doc.get("tools", (doc.get("result") or {}).get("tools", []))
    return {t["name"]: t for t in doc if isinstance(t, dict) and "name" in t}


# --------------------------------------------------------------------------- documents


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for path, item in (doc.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if method in _HTTP_METHODS and isinstance(op, dict):
                out[(method.upper(), path)] = {**op, "_shared_params": item.get("parameters", [])}
    return out


def _json_schema(content: Any) -> Any:
    if not isinstance(content, dict):
        return None
    for ctype, media in content.items():
        if "json" in ctype and isinstance(media, dict):
            return media.get("schema")
    return None


def diff_openapi(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    oref, nref = _Refs(old), _Refs(new)
    oops, nops = _operations(old), _operations(new)
    out: list[Change] = []
    for key, op in oops.items():
        name = f"{key[0]} {key[1]}"
        if key not in nops:
            out.append(Change(True, name, "endpoint removed"))
            continue
        nop = nops[key]
        oparams = {(p.get("in"), p.get("name")): p for p in map(oref.resolve, op["_shared_params"] +
                                                                 op.get("parameters", []))}
        nparams = {(p.get("in"), p.get("name")): p for p in map(nref.resolve, nop["_shared_params"] +
                                                                 nop.get("parameters", []))}
        for pk, p in nparams.items():
            where = f"{name} {pk[0]} parameter '{pk[1]}'"
            if pk not in oparams:
                out.append(Change(bool(p.get("required")), where,
                                  "new required parameter" if p.get("required") else "new optional parameter"))
            else:
                if p.get("required") and not oparams[pk].get("required"):
                    out.append(Change(True, where, "became required"))
                out += compare_schema(oparams[pk].get("schema"), p.get("schema"), where, "input",
                                      old_refs=oref, new_refs=nref)
        out += [Change(False, f"{name} {pk[0]} parameter '{pk[1]}'", "parameter removed")
                for pk in oparams if pk not in nparams]
        obody, nbody = oref.resolve(op.get("requestBody") or {}), nref.resolve(nop.get("requestBody") or {})
        if nbody.get("required") and not obody.get("required"):
            out.append(Change(True, f"{name} request body", "request body became required"))
        out += compare_schema(_json_schema(obody.get("content")), _json_schema(nbody.get("content")),
                              f"{name} request", "input", old_refs=oref, new_refs=nref)
        oresp, nresp = op.get("responses") or {}, nop.get("responses") or {}
        o2 = sorted(c for c in map(str, oresp) if c.startswith("2"))
        n2 = sorted(c for c in map(str, nresp) if c.startswith("2"))
        if o2 and [c for c in o2 if c not in n2]:
            out.append(Change(True, name, f"success status code changed from {o2} to {n2}"))
        for code in oresp:
            if str(code) not in map(str, nresp):
                if not str(code).startswith("2"):
                    out.append(Change(False, name, f"documented status {code} removed"))
                continue
            ncode = next(c for c in nresp if str(c) == str(code))
            out += compare_schema(_json_schema(oref.resolve(oresp[code]).get("content")),
                                  _json_schema(nref.resolve(nresp[ncode]).get("content")),
                                  f"{name} response {code}", "output", old_refs=oref, new_refs=nref)
        out += [Change(False, name, f"status {c} documented") for c in nresp if str(c) not in map(str, oresp)]
    out += [Change(False, f"{m} {p}", "endpoint added") for (m, p) in nops if (m, p) not in oops]
    return out


def card_schemas(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Skill id -> {"input"/"output": schema} from the card's schema extension(s).

    Accepts ``params.skills.{id}.{input,output}`` and card-wide ``params.output_schema`` /
    ``params.input_schema`` (camelCase too), the latter applying to every skill.
    """
    out: dict[str, dict[str, Any]] = {}
    caps = card.get("capabilities") if isinstance(card.get("capabilities"), dict) else {}
    skill_ids = [str(s.get("id")) for s in card.get("skills") or [] if isinstance(s, dict)]
    for ext in caps.get("extensions") or []:
        params = ext.get("params") if isinstance(ext, dict) else None
        if not isinstance(params, dict):
            continue
        for direction in ("input", "output"):
            for key in (f"{direction}_schema", f"{direction}Schema"):
                if isinstance(params.get(key), dict):
                    for sid in skill_ids:
                        out.setdefault(sid, {})[direction] = _intify(params[key])
        skills = params.get("skills")
        for sid, decl in (skills.items() if isinstance(skills, dict) else []):
            for direction in ("input", "output"):
                if isinstance(decl, dict) and isinstance(decl.get(direction), dict):
                    out.setdefault(str(sid), {})[direction] = _intify(decl[direction])
    return out


def _intify(value: Any) -> Any:
    """protobuf Struct makes every number a float (``minLength: 1.0``); JSON Schema counts
    must be integers again."""
    if isinstance(value, dict):
        return {k: _intify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_intify(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def diff_cards(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out: list[Change] = []
    oskills = {s.get("id"): s for s in old.get("skills") or [] if isinstance(s, dict)}
    nskills = {s.get("id"): s for s in new.get("skills") or [] if isinstance(s, dict)}
    out += [Change(True, f"skill '{k}'", "skill removed") for k in oskills if k not in nskills]
    out += [Change(False, f"skill '{k}'", "skill added") for k in nskills if k not in oskills]
    oschemas, nschemas = card_schemas(old), card_schemas(new)
    for sid in oskills:
        if sid not in nskills:
            continue
        for direction in ("input", "output"):
            o, n = oschemas.get(sid, {}).get(direction), nschemas.get(sid, {}).get(direction)
            if o is not None and n is None:
                out.append(Change(direction == "output", f"skill '{sid}' {direction}",
                                  "declared schema removed"))
            elif o is not None:
                out += compare_schema(o, n, f"skill '{sid}' {direction}", direction)  # type: ignore[arg-type]

    def versions(card: dict[str, Any]) -> set[tuple[str, str]]:
        return {(str(i.get("protocolBinding")), str(i.get("protocolVersion")))
                for i in card.get("supportedInterfaces") or [] if isinstance(i, dict)}

    out += [Change(True, "supportedInterfaces", f"interface {b} {v} no longer offered")
            for b, v in sorted(versions(old) - versions(new))]
    ocap, ncap = old.get("capabilities") or {}, new.get("capabilities") or {}
    for cap in ("streaming", "pushNotifications"):
        if ocap.get(cap) and not ncap.get(cap):
            out.append(Change(True, f"capabilities.{cap}", "capability withdrawn"))
    for modes in ("defaultInputModes", "defaultOutputModes"):
        gone = [m for m in old.get(modes) or [] if m not in (new.get(modes) or [])]
        if gone:
            out.append(Change(True, modes, f"modes removed: {gone}"))
    if old.get("version") != new.get("version"):
        out.append(Change(False, "version", f"{old.get('version')} -> {new.get('version')}"))
    return out


def diff_tools(old: Any, new: Any) -> list[Change]:
    otools, ntools = mcp_tools(old), mcp_tools(new)
    out = [Change(True, f"tool '{n}'", "tool removed") for n in otools if n not in ntools]
    out += [Change(False, f"tool '{n}'", "tool added") for n in ntools if n not in otools]
    for name, tool in otools.items():
        if name not in ntools:
            continue
        ntool = ntools[name]
        out += compare_schema(tool.get("inputSchema"), ntool.get("inputSchema"), f"tool '{name}' input", "input")
        if tool.get("outputSchema") is not None and ntool.get("outputSchema") is None:
            out.append(Change(True, f"tool '{name}' output", "outputSchema removed"))
        elif tool.get("outputSchema") is not None:
            out += compare_schema(tool["outputSchema"], ntool["outputSchema"], f"tool '{name}' output", "output")
    return out


def interaction_key(inter: dict[str, Any]) -> str:
    """Identity of a pact interaction across versions: its description (the generator
    derives it from method, path template and JSON-RPC method/tool)."""
    return str(inter.get("description") or "")


def _body(part: dict[str, Any]) -> Any:
    body = part.get("body")
    if isinstance(body, dict) and "content" in body and "contentType" in body:
        return body["content"]
    return body


def diff_pacts(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Pacts generated from traffic record what the provider *did*: a response field that
    disappears or changes type is breaking; an interaction missing from NEW was only
    not exercised (non-breaking note)."""
    out: list[Change] = []
    for side in ("consumer", "provider"):
        if (old.get(side) or {}).get("name") != (new.get(side) or {}).get("name"):
            out.append(Change(False, side, f"{(old.get(side) or {}).get('name')} -> "
                                           f"{(new.get(side) or {}).get('name')}"))
    olds = {interaction_key(i): i for i in old.get("interactions") or []}
    news = {interaction_key(i): i for i in new.get("interactions") or []}
    for key, inter in olds.items():
        if key not in news:
            out.append(Change(False, f"interaction '{key}'", "not present in NEW"))
            continue
        oresp, nresp = inter.get("response") or {}, news[key].get("response") or {}
        if oresp.get("status") != nresp.get("status"):
            out.append(Change(True, f"interaction '{key}'",
                              f"status code changed from {oresp.get('status')} to {nresp.get('status')}"))
        out += compare_schema(infer_schema(_body(oresp)), infer_schema(_body(nresp)),
                              f"interaction '{key}' response $", "output")
    out += [Change(False, f"interaction '{k}'", "new interaction") for k in news if k not in olds]
    return out


