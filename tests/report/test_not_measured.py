"""Every renderer shows a figure the scorecard could not measure as "not measured (reason)",
never as 0 or ok: undeclared checks are skipped, declared-but-unmeasured ones fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from harness.model.scorecard import Integrity, PolicyResult, Scorecard
from harness.report.allure import write_allure_results
from harness.report.compare import compare
from harness.report.data import load_scored_run
from harness.report.html import render_html
from harness.report.junit import render_junit
from harness.report.markdown import _md, render_summary, top_failures
from tests.report.synth import healthy_scorecard

NO_EFFECTS = "system.yaml declares no side_effects"
NO_POLICIES = "system.yaml declares no Cedar policies (policies.files)"
NO_TELEMETRY = "side effects declared but no audit events or spans were collected"
NO_ACTIONS = "policies declared but no agent actions were seen in spans or audit events"
XSD = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit.xsd"))))


def unmeasured(*, declared: bool) -> Scorecard:
    card = healthy_scorecard()
    card.integrity = Integrity(submitted=10, completed=10, duplicated=None,
                               declared=["hotel booked"] if declared else [],
                               not_measured=NO_TELEMETRY if declared else NO_EFFECTS)
    card.policy = PolicyResult(declared=declared, not_measured=NO_ACTIONS if declared else NO_POLICIES)
    return card


@pytest.mark.parametrize("declared", [False, True])
def test_markdown_says_not_measured_with_the_reason(declared: bool) -> None:
    card = unmeasured(declared=declared)
    md = render_summary(card)
    integ, policy = (_md(r) for r in ((NO_TELEMETRY, NO_ACTIONS) if declared else (NO_EFFECTS, NO_POLICIES)))
    assert f"| lost / duplicated work | 0 / not measured ({integ}) |" in md
    assert f"| policy adherence | not measured ({policy}) |" in md
    # only a declared-but-unmeasured figure is a problem worth listing
    assert top_failures(card) == ([f"duplicated work not measured ({integ})",
                                   f"policy adherence not measured ({policy})"] if declared else [])


def test_junit_skips_undeclared_checks_and_fails_declared_unmeasured_ones() -> None:
    root = etree.fromstring(render_junit(unmeasured(declared=False)))
    XSD.assertValid(root)
    run = root.findall("testsuite")[-1]
    skipped = [c.find("skipped").get("message") for c in run.findall("testcase")]
    assert skipped == [f"no lost work; duplicated work not measured ({NO_EFFECTS})",
                       f"policy adherence not measured ({NO_POLICIES})"]
    assert run.get("skipped") == root.get("skipped") == "2" and root.get("failures") == "0"

    root = etree.fromstring(render_junit(unmeasured(declared=True)))
    XSD.assertValid(root)
    run = root.findall("testsuite")[-1]
    fails = [c.find("failure") for c in run.findall("testcase")]
    assert [f.get("type") for f in fails] == ["NotMeasured", "NotMeasured"]
    assert NO_TELEMETRY in fails[0].get("message") and NO_ACTIONS in fails[1].get("message")
    assert root.get("failures") == "2" and root.get("skipped") == "0"


def test_junit_of_a_measured_run_has_no_skips() -> None:
    root = etree.fromstring(render_junit(healthy_scorecard()))
    assert root.get("skipped") == "0" and not root.findall(".//skipped")


def _write(run_dir: Path, card: Scorecard) -> Path:
    from tests.report.synth import write_run

    write_run(run_dir)
    (run_dir / "scorecard.json").write_text(card.model_dump_json(), encoding="utf-8")
    return run_dir


@pytest.mark.parametrize(("declared", "status"), [(False, "skipped"), (True, "failed")])
def test_allure_never_passes_an_unmeasured_check(tmp_path: Path, declared: bool, status: str) -> None:
    run = load_scored_run(_write(tmp_path / "run", unmeasured(declared=declared)))
    out = write_allure_results(run, tmp_path / "allure")
    by_name = {r["fullName"]: r for r in (json.loads(p.read_text()) for p in out.glob("*-result.json"))}
    integ, policy = by_name["harness.run.integrity"], by_name["harness.run.policy"]
    assert integ["status"] == policy["status"] == status
    assert "duplicated work not measured (" in integ["statusDetails"]["message"]
    assert policy["statusDetails"]["message"].startswith("policy adherence not measured (")


def test_html_cards_and_sections_say_not_measured(tmp_path: Path) -> None:
    page = render_html(load_scored_run(_write(tmp_path / "run", unmeasured(declared=False))))
    assert f"Not measured: {NO_POLICIES}." in page and "no policy violations" not in page
    assert "no lost or duplicated work" not in page
    assert f"duplicated work not measured: {NO_EFFECTS}" in page
    integrity_card = page.split('id="integrity-card"', 1)[1].split("</div></div>", 1)[0]
    assert '<div class="value">not measured</div>' in integrity_card
    assert f"0 lost · duplicated not measured ({NO_EFFECTS})" in integrity_card


def test_compare_shows_unmeasured_duplicates_as_na_and_still_compares_lost_work() -> None:
    deltas = {d.figure: d for d in compare(unmeasured(declared=False), healthy_scorecard())}
    assert deltas["integrity.duplicated"].current is None and not deltas["integrity.duplicated"].worse
    assert deltas["integrity.duplicated"].describe() == "duplicated work: 0 -> n/a"
    assert deltas["integrity.lost"].current == 0.0
