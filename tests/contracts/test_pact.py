"""Recorded traffic -> Pact V4 files -> verification against live providers.

The recordings are made by real HTTP calls to the fixture agents (tests/contracts/
recording.py writes the proxy recorder's line format); the sandbox test does the same
through the real proxy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.cli import main
from harness.contracts.pact import generate_pacts, verify_provider
from harness.contracts.traffic import path_template, read_exchanges
from harness.errors import ConfigError
from harness.model.system import Edge, Service, SystemSpec
from tests.contracts.apps import a2a_app, mcp_app, rest_app, serve
from tests.contracts.recording import RecordingClient

segment = st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=8)


@given(st.lists(segment, max_size=6))
def test_path_template_keeps_shape_and_wordy_segments(parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    tmpl = path_template(path)
    assert tmpl.count("/") == path.count("/")
    assert path_template(tmpl) == tmpl
    for seg, out in zip(path.split("/"), tmpl.split("/"), strict=True):
        if not any(c.isdigit() for c in seg):
            assert out == seg


def _line(**over: Any) -> str:
    base = {"v": 1, "proxy": "risk", "t_wall": 1.0, "t_mono": 1.0, "latency_ms": 1.0,
            "request": {"method": "POST", "path": "/", "query": {}, "headers": {"authorization": "[REDACTED]"},
                        "body": {"a": 1}, "body_encoding": "json", "body_size": 7, "body_truncated": False},
            "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": {"ok": True},
                         "body_encoding": "json", "body_size": 11, "body_truncated": False},
            "toxics": [], "error": None}
    base.update(over)
    return json.dumps(base)


def test_reader_skips_faulted_failed_and_truncated_exchanges(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    truncated = json.loads(_line())
    truncated["response"]["body_truncated"] = True
    rec.write_text("\n".join([
        _line(), _line(toxics=[{"name": "t", "type": "schema_drift"}]), _line(error="reset"), _line(response=None),
        json.dumps(truncated), ""]))
    got = read_exchanges([rec])
    assert len(got) == 1 and got[0].resp_body == {"ok": True} and got[0].source == f"{rec}:1"


def test_reader_names_file_and_line_of_bad_input(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    rec.write_text(_line() + "\n{oops\n")
    with pytest.raises(ConfigError, match=r"rec.jsonl:2: invalid JSON line"):
        read_exchanges([rec])
    rec.write_text(json.dumps({"request": {}, "response": {"status": 200}}) + "\n")
    with pytest.raises(ConfigError, match=r"rec.jsonl:1: not a recorded exchange: missing or bad 'method'"):
        read_exchanges([rec])


def test_reader_accepts_har(tmp_path: Path) -> None:
    har = {"log": {"version": "1.2", "entries": [{
        "request": {"method": "POST", "url": "http://127.0.0.1:9/v1/intake?x=1&api_key=k", "headers": [
                        {"name": "Authorization", "value": "Bearer t0k"}],
                    "postData": {"mimeType": "application/json",
                                 "text": "{\"claim_id\": \"C-1\", \"password\": \"hunter2\"}"}},
        "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "content": {"mimeType": "application/json", "text": "{\"status\": \"ok\"}"}}}]}}
    path = tmp_path / "t.har"
    path.write_text(json.dumps(har))
    (ex,) = read_exchanges([path], har_provider="intake")
    assert (ex.proxy, ex.method, ex.path, ex.query, ex.req_body, ex.resp_body) == (
        "intake", "POST", "/v1/intake", {"x": ["1"], "api_key": ["[REDACTED]"]},
        {"claim_id": "C-1", "password": "[REDACTED]"}, {"status": "ok"})
    assert ex.req_headers == {"authorization": "[REDACTED]"}  # HAR is redacted like the recorder's lines


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SystemSpec]]:
    """Drive three fixture agents (A2A, MCP, REST) with a few claims, recording every exchange."""
    rec = tmp_path_factory.mktemp("rec") / "traffic.jsonl"
    with serve(a2a_app()) as aurl, serve(mcp_app()) as murl, serve(rest_app()) as rurl:
        risk, pay, intake = (RecordingClient(rec, n) for n in ("risk", "payout", "intake"))
        for i in range(3):
            msg = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER",
                   "parts": [{"data": {"claim_id": f"C{i}", "amount": 700.0 * i + 1}}]}
            task = risk.post(aurl + "/", headers={"A2A-Version": "1.0"}, json={
                "jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": msg}}).json()
            risk.post(aurl + "/", headers={"A2A-Version": "1.0"}, json={
                "jsonrpc": "2.0", "id": i, "method": "GetTask", "params": {"id": task["result"]["task"]["id"]}})
            pay.post(murl + "/mcp", headers={"Accept": "application/json, text/event-stream",
                                             "Authorization": "Bearer s3cr3t"}, json={
                "jsonrpc": "2.0", "id": i, "method": "tools/call",
                "params": {"name": "issue_payout", "arguments": {"claim_id": f"C{i}", "amount": 5.0 + i}}})
            intake.post(rurl + "/intake", json={"claim_id": f"C-{i}", "amount": 10.0 * i})
            intake.get(rurl + f"/intake/C-{i}")
        for c in (risk, pay, intake):
            c.close()
    system = _system({"risk": "http://127.0.0.1:9", "payout": "http://127.0.0.1:9", "intake": "http://127.0.0.1:9"})
    yield rec, system


def _system(urls: dict[str, str]) -> SystemSpec:
    services = [Service(name="orchestrator", kind="orchestrator", protocol="rest", base_url="http://127.0.0.1:9",
                        external=True)]
    protocols = {"risk": "a2a", "payout": "mcp", "intake": "rest"}
    services += [Service(name=n, kind="agent", protocol=protocols[n], base_url=u, external=True)  # type: ignore[arg-type]
                 for n, u in urls.items()]
    return SystemSpec(name="fixtures", services=services,
                      edges=[Edge(caller="orchestrator", callee=n, proxy=n) for n in urls])


def _pact(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_generated_pacts_are_v4_with_matchers_states_and_no_secrets(recorded: tuple[Path, SystemSpec],
                                                                    tmp_path: Path) -> None:
    rec, system = recorded
    files = generate_pacts([rec], tmp_path, system=system)
    assert sorted(f.name for f in files) == [
        "orchestrator-intake.json", "orchestrator-payout.json", "orchestrator-risk.json"]
    risk = _pact(tmp_path / "orchestrator-risk.json")
    assert risk["metadata"]["pactSpecification"]["version"] == "4.0"
    assert (risk["consumer"]["name"], risk["provider"]["name"]) == ("orchestrator", "risk")
    by_desc = {i["description"]: i for i in risk["interactions"]}
    assert sorted(by_desc) == ["POST / GetTask -> 200", "POST / SendMessage -> 200"]  # one per request shape
    send = by_desc["POST / SendMessage -> 200"]
    rules = send["response"]["matchingRules"]["body"]
    assert rules["$.result.task.id"]["matchers"][0]["match"] == "regex"  # a UUID
    assert rules["$.result.task.status.state"]["matchers"][0]["regex"] == "^(TASK_STATE_COMPLETED)$"
    assert rules["$.result.task.artifacts[*].parts[*].data.risk_score"]["matchers"][0]["match"] == "type"
    get = by_desc["POST / GetTask -> 200"]
    state = get["providerStates"][0]
    assert state["name"].startswith("task ") and state["params"]["setup"]["body"]["method"] == "SendMessage"
    assert get["request"]["generators"]["body"]["$.params.id"]["type"] == "ProviderState"
    intake = {i["description"] for i in _pact(tmp_path / "orchestrator-intake.json")["interactions"]}
    assert intake == {"POST /intake -> 200", "GET /intake/{id} -> 200"}
    payout_text = (tmp_path / "orchestrator-payout.json").read_text()
    assert "s3cr3t" not in payout_text and "REDACTED" not in payout_text.upper()


def test_generated_pacts_verify_against_fresh_providers_and_drift_is_named(
        recorded: tuple[Path, SystemSpec], tmp_path: Path) -> None:
    rec, system = recorded
    generate_pacts([rec], tmp_path, system=system)
    with serve(a2a_app()) as aurl, serve(mcp_app()) as murl, serve(rest_app()) as rurl:
        for provider, url in (("risk", aurl), ("payout", murl + "/mcp"), ("intake", rurl)):
            res = verify_provider(provider, url, [tmp_path / f"orchestrator-{provider}.json"])
            assert (res.failed, res.failures) == (0, []), provider
            assert res.passed == len(_pact(tmp_path / f"orchestrator-{provider}.json")["interactions"])
    with serve(a2a_app(drift=True)) as aurl:
        res = verify_provider("risk", aurl, [tmp_path / "orchestrator-risk.json"])
    assert res.failed == 2 and res.passed == 0
    messages = " ".join(f.message for f in res.failures)
    assert "$.result.task.artifacts[0].parts[0].data: Actual map is missing the following keys: risk_score" \
        in messages
    assert '"score"' in messages  # the actual keys are shown


def test_cli_generate_and_verify(recorded: tuple[Path, SystemSpec], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    rec, _ = recorded
    out = tmp_path / "pacts"
    with serve(rest_app()) as rurl, serve(a2a_app(drift=True)) as aurl, serve(mcp_app()) as murl:
        system_yaml = tmp_path / "system.yaml"
        system_yaml.write_text(_system({"risk": aurl, "payout": murl, "intake": rurl}).model_dump_json())
        with pytest.raises(SystemExit) as exc:
            main(["contracts", "generate", "--recording", str(rec), "--out", str(out), "--system", str(system_yaml)])
        assert exc.value.code == 0
        assert "orchestrator-risk.json (2 interactions)" in capsys.readouterr().out
        with pytest.raises(SystemExit) as exc:
            main(["contracts", "verify", "--system", str(system_yaml), "--pacts", str(out), "--out", str(tmp_path)])
        assert exc.value.code == 1  # the drifted risk agent
        printed = capsys.readouterr().out
        assert "FAIL [pact orchestrator->risk]" in printed and "risk_score" in printed
    results = json.loads((tmp_path / "contracts.json").read_text())
    by_edge = {r["edge"]: r for r in results}
    assert by_edge["orchestrator->intake"]["failed"] == 0 and by_edge["orchestrator->payout"]["failed"] == 0
    assert by_edge["orchestrator->risk"]["failed"] == 2
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "verify", "--system", str(system_yaml), "--pacts", str(tmp_path / "nope")])
    assert exc.value.code == 2


def test_bodies_with_different_keys_are_different_interactions(tmp_path: Path) -> None:
    def line(body: dict[str, Any]) -> str:
        obj = json.loads(_line(proxy="approval"))
        obj["request"].update(path="/v1/approvals", body=body)
        return json.dumps(obj)

    rec = tmp_path / "rec.jsonl"
    rec.write_text("\n".join([line({"claim_id": "C-1"}), line({"claim_id": "C-2", "note": "x"}),
                              line({"claim_id": "C-3"})]) + "\n")
    (path,) = generate_pacts([rec], tmp_path / "pacts", consumer="orchestrator")
    descriptions = sorted(i["description"] for i in _pact(path)["interactions"])
    assert descriptions == ["POST /v1/approvals -> 200 {claim_id,note}", "POST /v1/approvals -> 200 {claim_id}"]


def test_system_declared_state_handler_is_used(recorded: tuple[Path, SystemSpec], tmp_path: Path) -> None:
    """A provider's own state endpoint (services[].provider_states_url) replaces the default."""
    import httpx
    from fastapi import FastAPI

    from harness.contracts.run import verify_pacts

    calls: list[dict[str, Any]] = []
    generate_pacts([recorded[0]], tmp_path, system=recorded[1])
    with serve(rest_app()) as rurl:
        states = FastAPI()

        @states.post("/state")
        def change(body: dict[str, Any]) -> dict[str, Any]:
            calls.append(body)
            if body.get("action") == "setup" and "id" in body.get("params", {}):
                claim = body["params"]["id"]
                httpx.post(f"{rurl}/intake", json={"claim_id": claim, "amount": 1.0}, trust_env=False)
            return {}

        with serve(states) as surl:
            system = _system({"intake": rurl})
            system.services[1].provider_states_url = f"{surl}/state"
            (res,) = verify_pacts(system, [tmp_path / "orchestrator-intake.json"])
    assert (res.failed, res.passed) == (0, 2)
    assert {(c["state"], c["action"]) for c in calls} >= {("intake C-0 exists", "setup"),
                                                          ("intake is available", "setup")}
