"""The public Python API (``harness.__all__``, docs/api.md): every name resolves, every name
is documented, ``import harness`` stays light, and the names work together for real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

import harness
from tests.report.synth import write_run

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves_and_is_documented() -> None:
    docs = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"`harness\.(\w+)", docs))
    assert sorted(harness.__all__) == sorted(["__version__", *harness._API])
    for name in harness._API:
        assert getattr(harness, name) is not None
        assert name in documented, f"docs/api.md does not document harness.{name}"


def test_import_harness_loads_no_layer() -> None:
    code = "import harness, sys; print(sorted(m for m in sys.modules if m.startswith('harness.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_score_report_and_gate_a_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "reports" / "r1"
    write_run(run_dir, run_id="r1")
    folder = harness.RunFolder(run_dir)
    folder.scorecard.unlink()  # score from the journal, as `harness score` does
    card = harness.score_run(harness.load_run(run_dir))
    folder.write_scorecard(card)
    written = harness.write_reports(run_dir, history=None, formats=["summary", "junit"])
    assert set(written) == {"summary", "junit"} and card.verdict.upper() in written["summary"].read_text()
    result = harness.evaluate_gate(card, harness.load_gate(ROOT / "gate.yaml"))
    # the synthetic run has an aborted scenario: the shipped gate fails it, and says which rule
    assert card.verdict == "aborted" and not result.passed
    assert {o.rule for o in result.outcomes if o.status == "fail"} == {"scenarios.aborted == 0", "verdict == pass"}


def test_the_proxy_client_drives_the_embedded_proxy() -> None:
    with harness.BackgroundProxy() as proxy, harness.ProxyClient(proxy.api_url) as api:
        assert api.proxies() == {}
        api.create_proxy("edge", "127.0.0.1:0", "127.0.0.1:9")
        assert "edge" in api.proxies()
        assert httpx.get(f"{proxy.api_url}/proxies/edge", trust_env=False).json()["upstream"] == "127.0.0.1:9"
