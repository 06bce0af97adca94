"""OpenAPI agents: schemathesis from the harness CLI (subprocess, live server) and the
``@schema.parametrize()`` pytest pattern (in-process ASGI) that users copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis

from harness.cli import main
from harness.contracts.openapi import check_openapi
from tests.contracts.apps import rest_app, serve

# The pattern docs/contracts.md documents: one pytest item per operation, positive and
# negative data, every default check. In-process (ASGI) so it needs no port.
schema = schemathesis.openapi.from_asgi("/openapi.json", rest_app())
schema.config.generation.update(max_examples=15)


@schema.parametrize()
def test_intake_api_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()


@pytest.mark.slow
def test_undocumented_500_is_caught_with_a_reproducer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serve(rest_app(broken=True)) as url, pytest.raises(SystemExit) as exc:
        main(["contracts", "openapi", "--url", f"{url}/openapi.json", "-n", "10", "--seed", "7",
              "--out", str(tmp_path)])
    assert exc.value.code == 1
    printed = capsys.readouterr().out
    assert "FAIL [openapi" in printed and "POST /intake: ST101" in printed
    (result,) = json.loads((tmp_path / "contracts.json").read_text())
    (failure,) = result["failures"]
    assert failure["name"] == "POST /intake"
    assert "Server error" in failure["message"] and "Undocumented status code" in failure["message"]
    assert "Received: 500" in failure["message"]
    assert "curl -X POST -H 'Content-Type: application/json' -d " in failure["message"]
    assert f"{url}/intake" in failure["message"] and "--seed 7" in failure["message"]
    assert list(tmp_path.glob("openapi-*.junit.xml"))  # the raw report is kept next to contracts.json


@pytest.mark.slow
def test_healthy_rest_agent_passes_all_phases() -> None:
    with serve(rest_app()) as url:
        res = check_openapi(f"{url}/openapi.json", edge="orchestrator->intake", max_examples=10, seed=1)
    assert res.failures == []
    assert res.passed == 3  # POST /intake, GET /intake/{claim_id}, and the stateful suite


def test_bad_inputs_are_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "openapi", "--url", str(tmp_path / "missing.json")])
    assert exc.value.code == 2
    assert "missing.json: OpenAPI document not found" in capsys.readouterr().err
    doc = tmp_path / "api.json"
    doc.write_text("{}")
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "openapi", "--url", str(doc)])
    assert exc.value.code == 2
    assert "needs the API's base URL" in capsys.readouterr().err
