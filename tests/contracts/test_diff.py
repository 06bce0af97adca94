"""Compatibility diff: schema comparison rules, document kinds, and the CLI's exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.contracts.catalog import detect_kind, diff_docs
from harness.contracts.diff import compare_schema, diff_cards, diff_openapi, diff_tools
from harness.errors import ConfigError

# JSON Schemas built from a small grammar: enough variety to exercise every rule.
leaf = st.one_of(
    st.sampled_from([{"type": "string"}, {"type": "number"}, {"type": "integer"}, {"type": "boolean"}]),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True).map(
        lambda e: {"type": "string", "enum": e}),
)


def _objects(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(["id", "name", "amount", "state", "x"]), inner,
                           min_size=1, max_size=4).flatmap(
        lambda props: st.lists(st.sampled_from(sorted(props)), unique=True).map(
            lambda req: {"type": "object", "properties": props, "required": req}))


schemas = st.recursive(leaf, _objects, max_leaves=8)
objects = _objects(schemas)


@settings(max_examples=100, deadline=None)
@given(schemas, st.sampled_from(["input", "output"]))
def test_a_schema_is_compatible_with_itself(schema: dict[str, Any], direction: str) -> None:
    assert compare_schema(schema, schema, "$", direction) == []  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(objects, st.sampled_from(["id", "name", "zz"]))
def test_removing_a_promised_output_field_is_breaking(schema: dict[str, Any], extra: str) -> None:
    old = {**schema, "properties": {**schema["properties"], extra + "_new": {"type": "string"}}}
    old["required"] = [*schema["required"], extra + "_new"]
    changes = compare_schema(old, schema, "$", "output")
    assert any(c.breaking and f"'{extra}_new' removed" in c.message for c in changes)


@settings(max_examples=100, deadline=None)
@given(objects)
def test_new_required_input_is_breaking_and_new_optional_is_not(schema: dict[str, Any]) -> None:
    optional = {**schema, "properties": {**schema["properties"], "newfield": {"type": "string"}}}
    required = {**optional, "required": [*schema["required"], "newfield"]}
    assert [c for c in compare_schema(schema, optional, "$", "input") if c.breaking] == []
    assert any(c.breaking and "newfield" in c.message for c in compare_schema(schema, required, "$", "input"))


def test_type_and_enum_rules_depend_on_direction() -> None:
    num, integer = {"type": "number"}, {"type": "integer"}
    assert any(c.breaking for c in compare_schema(num, integer, "$", "input"))  # narrowed input
    assert not any(c.breaking for c in compare_schema(integer, num, "$", "input"))  # widened input
    assert any(c.breaking for c in compare_schema(integer, num, "$", "output"))  # widened output
    ab, abc = {"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a", "b", "c"]}
    assert any(c.breaking for c in compare_schema(abc, ab, "$", "input"))
    assert not any(c.breaking for c in compare_schema(ab, abc, "$", "input"))
    assert any(c.breaking for c in compare_schema(ab, abc, "$", "output"))
    tight = compare_schema({"type": "string"}, {"type": "string", "maxLength": 5}, "$", "input")
    assert [c.message for c in tight if c.breaking] == ["maxLength tightened from None to 5"]


def _openapi(status: str = "200", required: tuple[str, ...] = ("id",), extra_path: bool = True) -> dict[str, Any]:
    paths: dict[str, Any] = {"/items": {"post": {
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}},
        "responses": {status: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Out"}}}}},
    }}}
    if extra_path:
        paths["/items/{id}"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": {
        "In": {"type": "object", "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}},
               "required": list(required)[1:]},
        "Out": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                "required": ["id", "name"]}}}}


def test_openapi_diff_finds_removed_endpoint_status_change_and_required_input() -> None:
    assert diff_openapi(_openapi(), _openapi()) == []
    changes = diff_openapi(_openapi(), _openapi(status="201", required=("id", "qty"), extra_path=False))
    breaking = {str(c) for c in changes if c.breaking}
    assert "GET /items/{id}: endpoint removed" in breaking
    assert "POST /items: success status code changed from ['200'] to ['201']" in breaking
    assert "POST /items request.qty: input field 'qty' became required" in breaking


def _card(field: str = "risk_score", skills: tuple[str, ...] = ("assess",)) -> dict[str, Any]:
    out = {"type": "object", "properties": {field: {"type": "number"}}, "required": [field]}
    return {"name": "risk", "version": "1", "supportedInterfaces": [
        {"url": "http://x/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {"extensions": [{"uri": "u", "params": {"output_schema": out}}]},
        "skills": [{"id": s, "name": s, "description": s, "tags": ["t"]} for s in skills]}


def test_card_diff_reports_renamed_field_and_removed_skill() -> None:
    changes = diff_cards(_card(skills=("assess", "explain")), _card("score"))
    breaking = [str(c) for c in changes if c.breaking]
    assert "skill 'explain': skill removed" in breaking
    assert "skill 'assess' output.risk_score: field 'risk_score' removed (possibly renamed to 'score')" in breaking


def test_tool_diff_reports_removed_tool_and_output_field() -> None:
    tool = {"name": "pay", "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}}},
            "outputSchema": {"type": "object", "properties": {"ref": {"type": "string"}}, "required": ["ref"]}}
    other = {"name": "refund", "inputSchema": {"type": "object"}}
    new = {**tool, "outputSchema": {"type": "object", "properties": {}}}
    breaking = [str(c) for c in diff_tools({"tools": [tool, other]}, [new]) if c.breaking]
    assert breaking == ["tool 'refund': tool removed", "tool 'pay' output.ref: field 'ref' removed"]


def test_detect_kind_rejects_unknown_documents() -> None:
    with pytest.raises(ConfigError, match="cannot tell what this is"):
        detect_kind({"hello": 1}, "x.json")
    with pytest.raises(ConfigError, match="cannot compare a openapi document with a a2a document"):
        diff_docs(_openapi(), _card())


def _write(tmp: Path, name: str, doc: Any) -> str:
    path = tmp / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_cli_diff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _write(tmp_path, "old.json", _card()), _write(tmp_path, "new.json", _card("score"))
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "diff", old, new])
    assert exc.value.code == 1
    assert "BREAKING skill 'assess' output.risk_score: field 'risk_score' removed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "diff", old, old])
    assert exc.value.code == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "diff", old, str(bad)])
    assert exc.value.code == 2
    assert "bad.json:1: invalid JSON" in capsys.readouterr().err


def _pact_file(tmp: Path, provider: str, interactions: list[dict[str, Any]]) -> Path:
    path = tmp / f"orchestrator-{provider}.json"
    path.write_text(json.dumps({"consumer": {"name": "orchestrator"}, "provider": {"name": provider},
                                "interactions": interactions, "metadata": {}}))
    return path


def _http(method: str, path: str, req: Any, status: int, resp: Any) -> dict[str, Any]:
    return {"type": "Synchronous/HTTP", "description": f"{method} {path} -> {status}",
            "request": {"method": method, "path": path,
                        "body": {"content": req, "contentType": "application/json"}},
            "response": {"status": status, "body": {"content": resp, "contentType": "application/json"}}}


def test_can_i_deploy_openapi(tmp_path: Path) -> None:
    from harness.contracts.catalog import can_i_deploy
    from tests.contracts.apps import rest_app

    pacts = [_pact_file(tmp_path, "intake", [
        _http("POST", "/intake", {"claim_id": "C-1", "amount": 5}, 200,
              {"claim_id": "C-1", "amount": 5.0, "status": "received", "ticket": "T-1"}),
        _http("GET", "/intake/C-1", None, 200, {"claim_id": "C-1", "amount": 5.0, "status": "r", "ticket": "T"})])]
    doc = rest_app().openapi()
    assert can_i_deploy("intake", doc, pacts) == (2, [])
    changed = json.loads(json.dumps(doc))
    changed["components"]["schemas"]["Intake"]["properties"].pop("ticket")
    changed["components"]["schemas"]["Claim"]["properties"]["amount"]["maximum"] = 1
    changed["paths"].pop("/intake/{claim_id}")
    n, changes = can_i_deploy("intake", changed, pacts)
    text = [str(c) for c in changes]
    assert n == 2 and all(c.breaking for c in changes)
    assert "orchestrator 'GET /intake/C-1 -> 200': GET /intake/C-1 is not offered by the new version" in text
    assert any("the recorded request is rejected: $request.amount: 5 is greater than the maximum of 1" in t
               for t in text)
    assert any("response $.ticket: field 'ticket' the consumer received is not promised by the new version"
               in t for t in text)
    assert can_i_deploy("someone-else", doc, pacts) == (0, [])


def test_can_i_deploy_mcp(tmp_path: Path) -> None:
    from harness.contracts.catalog import can_i_deploy

    call = _http("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                  "params": {"name": "pay", "arguments": {"amount": 5}}}, 200,
                 {"jsonrpc": "2.0", "id": 1, "result": {"content": [], "structuredContent": {"ref": "P-1"}}})
    pacts = [_pact_file(tmp_path, "payout", [call])]
    tool = {"name": "pay", "inputSchema": {"type": "object", "properties": {"amount": {"type": "number"}}},
            "outputSchema": {"type": "object", "properties": {"ref": {"type": "string"}}, "required": ["ref"]}}
    assert can_i_deploy("payout", {"tools": [tool]}, pacts) == (1, [])
    stricter = {**tool, "inputSchema": {**tool["inputSchema"], "required": ["amount", "currency"]}}
    (change,) = can_i_deploy("payout", [stricter], pacts)[1]
    assert change.message == "the recorded arguments are rejected: $arguments: 'currency' is a required property"
    assert [c.message for c in can_i_deploy("payout", [{**tool, "name": "refund"}], pacts)[1]] == [
        "tool 'pay' is not offered by the new version"]
    with pytest.raises(ConfigError, match="not a pact file"):
        can_i_deploy("payout", json.loads(pacts[0].read_text()), pacts)


def test_cli_usage_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    system = tmp_path / "system.yaml"
    system.write_text("name: s\nservices:\n  - name: a\n    kind: agent\n    protocol: a2a\n"
                      "    base_url: http://127.0.0.1:9\n    external: true\n")
    cases = [
        (["contracts", "run", "--system", str(system), "--suite", "soap"], "unknown contract suite(s) ['soap']"),
        (["contracts", "a2a", "--system", str(system), "--service", "zz"], "unknown service 'zz'; known: a"),
        (["contracts", "record", "--system", str(system), "--stop"], "no edge in system.yaml runs through a proxy"),
        (["contracts", "generate", "--recording", str(tmp_path / "none.jsonl")], "none.jsonl: recording not found"),
        (["contracts", "can-i-deploy", "--provider", "a", "--contract", str(system), "--pacts", str(tmp_path)],
         "cannot tell what this is"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2, argv
        assert message in err and "Traceback" not in err, err
