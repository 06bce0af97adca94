"""A2A and MCP live checks against real fixture agents (healthy and broken variants)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.contracts._schema import jsonrpc_problem
from harness.contracts.a2a import card_problems, check_agent, fetch_card
from harness.contracts.mcp import check_server, list_tools
from tests.contracts.apps import a2a_app, mcp_app, serve


def _names(result: Any) -> set[str]:
    return {f.name for f in result.failures}


def test_healthy_a2a_agent_passes_every_check(a2a_url: str) -> None:
    res = check_agent(a2a_url, edge="orchestrator->risk", examples=5)
    assert res.failures == [] and res.failed == 0
    # card fetch + shape, then per generated input: http, jsonrpc, result, strict parse, state, schema, GetTask...
    assert res.passed > 5 * 8


def test_a2a_card_that_lies_about_its_result_is_caught() -> None:
    with serve(a2a_app(lie=True)) as url:
        res = check_agent(url, examples=3)
    assert "SendMessage[assess] output.schema" in _names(res)
    msg = next(f.message for f in res.failures if f.name == "SendMessage[assess] output.schema")
    assert msg.startswith("$.result.task.artifacts[0].parts[0].data: 'risk_score' is a required property")


def test_a2a_consistent_drift_fails_only_against_the_baseline(a2a_url: str, a2a_drift_url: str) -> None:
    assert check_agent(a2a_drift_url, examples=3).failed == 0  # self-consistent: card and result agree
    res = check_agent(a2a_drift_url, baseline=fetch_card(a2a_url), examples=3)
    assert res.breaking_changes == [
        "skill 'assess' output.risk_score: field 'risk_score' removed (possibly renamed to 'score')"]
    assert _names(res) == {"card.compat"}


def _card() -> dict[str, Any]:
    return {"name": "risk", "description": "d", "version": "1.0.0",
            "supportedInterfaces": [{"url": "http://127.0.0.1:1/", "protocolBinding": "JSONRPC",
                                     "protocolVersion": "1.0"}],
            "capabilities": {}, "skills": [{"id": "s", "name": "n", "description": "d", "tags": ["t"]}]}


def test_card_shape_rules() -> None:
    assert card_problems(_card()) == []
    old_style = {**_card(), "url": "http://127.0.0.1:1/"}
    old_style.pop("supportedInterfaces")
    problems = card_problems(old_style)
    assert any('no field named "url"' in p for p in problems)
    assert "$.supportedInterfaces: required non-empty list (A2A 1.0 has no top-level url)" in problems
    v03 = _card()
    v03["supportedInterfaces"][0]["protocolVersion"] = "0.3"
    assert card_problems(v03) == ["$.supportedInterfaces[*].protocolVersion: no interface speaks 1.0 (got ['0.3'])"]
    no_tags = _card()
    no_tags["skills"][0]["tags"] = []
    assert card_problems(no_tags) == ["$.skills[0].tags: required non-empty list"]


ids = st.one_of(st.integers(), st.text(max_size=5))


@settings(max_examples=200)
@given(ids, st.dictionaries(st.sampled_from(["jsonrpc", "id", "result", "error"]),
                            st.one_of(st.none(), st.integers(), st.text(max_size=3),
                                      st.fixed_dictionaries({"code": st.integers(), "message": st.text()}))))
def test_jsonrpc_envelope_rule(request_id: Any, body: dict[str, Any]) -> None:
    problem = jsonrpc_problem(body, request_id)
    well_formed = (body.get("jsonrpc") == "2.0" and body.get("id") == request_id
                   and (("result" in body) != ("error" in body))
                   and ("error" not in body or (isinstance(body["error"], dict)
                                                and isinstance(body["error"].get("code"), int)
                                                and isinstance(body["error"].get("message"), str))))
    assert (problem is None) == well_formed


def test_healthy_mcp_server_passes_every_check(mcp_url: str) -> None:
    res = check_server(mcp_url, edge="orchestrator->payout", examples=5)
    assert res.failures == [] and res.failed == 0
    assert res.passed > 5 * 5


def test_stateful_sse_mcp_server_is_checked_the_same_way() -> None:
    with serve(mcp_app(stateful=True)) as url:
        res = check_server(url + "/mcp", examples=3)
        assert [t["name"] for t in list_tools(url + "/mcp")] == ["issue_payout"]
    assert res.failures == [] and res.passed > 10


def test_mcp_server_breaking_its_output_schema_is_caught() -> None:
    with serve(mcp_app(lie=True)) as url:
        res = check_server(url + "/mcp", examples=3)
    names = _names(res)
    assert {"tools/call[issue_payout] outputSchema", "tools/call[issue_payout] content.mirror"} <= names
    msg = next(f.message for f in res.failures if f.name == "tools/call[issue_payout] outputSchema")
    assert msg.startswith("$.result.structuredContent: 'payout_ref' is a required property")
    # invalid inputs were still rejected cleanly (isError), so no rejection check failed
    assert not any("invalid" in n for n in names)


def test_mcp_baseline_catches_a_removed_output_field(mcp_url: str) -> None:
    tools = list_tools(mcp_url)
    baseline = json.loads(json.dumps({"tools": tools}))
    baseline["tools"][0]["outputSchema"]["properties"]["fee"] = {"type": "number"}
    baseline["tools"][0]["outputSchema"]["required"].append("fee")
    res = check_server(mcp_url, baseline=baseline, examples=1)
    assert res.breaking_changes == ["tool 'issue_payout' output.fee: field 'fee' removed"]


def test_cli_a2a_and_mcp_by_url(a2a_url: str, a2a_drift_url: str, mcp_url: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "mcp", "--url", mcp_url, "-n", "2", "--out", str(tmp_path)])
    assert exc.value.code == 0
    (result,) = json.loads((tmp_path / "contracts.json").read_text())
    assert result["suite"] == "mcp" and result["failed"] == 0 and result["passed"] > 0
    card = tmp_path / "card.json"
    card.write_text(json.dumps(fetch_card(a2a_url)))
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "a2a", "--url", a2a_drift_url, "--baseline", str(card), "-n", "2"])
    assert exc.value.code == 1
    assert "BREAKING [a2a " in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "a2a", "--url", a2a_url, "--system", str(card)])
    assert exc.value.code == 2


events = st.lists(st.fixed_dictionaries({"jsonrpc": st.just("2.0"), "id": st.integers(0, 5),
                                         "result": st.dictionaries(st.text(max_size=3), st.integers())}),
                  max_size=4)


@settings(max_examples=150)
@given(events, st.integers(0, 5))
def test_sse_body_framing(evts: list[dict[str, Any]], want: int) -> None:
    """An SSE response holds one JSON-RPC message per ``data:`` line among other fields;
    the reader picks the (last) one answering our request id, or None."""
    import httpx

    from harness.contracts.mcp import _parse_body

    text = "".join(f"event: message\nid: {i}\ndata: {json.dumps(e)}\n\n" for i, e in enumerate(evts))
    resp = httpx.Response(200, headers={"content-type": "text/event-stream"}, text=": ping\n\n" + text)
    matching = [e for e in evts if e["id"] == want]
    assert _parse_body(resp, want) == (matching[-1] if matching else None)
    plain = httpx.Response(200, json={"jsonrpc": "2.0", "id": want, "result": {}})
    assert _parse_body(plain, want) == {"jsonrpc": "2.0", "id": want, "result": {}}
