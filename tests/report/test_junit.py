"""junit.xml validates against the Jenkins/Ant JUnit schema and says what failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from harness.model.scorecard import Scorecard
from harness.report.junit import render_junit, xml_safe
from tests.report.synth import healthy_scorecard

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit.xsd"))))


def _valid(doc: bytes) -> etree._Element:
    root = etree.fromstring(doc)
    XSD.assertValid(root)
    return root


def test_schema_rejects_malformed_junit() -> None:
    # negative control: the validator is able to fail
    bad = b'<testsuites><testsuite name="x" tests="1"><testcase classname="c"/></testsuite></testsuites>'
    assert not XSD.validate(etree.fromstring(bad))  # testcase without name
    bad2 = b'<testsuites><testsuite name="x" tests="-1"/></testsuites>'
    assert not XSD.validate(etree.fromstring(bad2))


def test_one_case_per_repeat_and_contract_suite(card: Scorecard) -> None:
    root = _valid(render_junit(card))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["scenarios", "contracts", "run"]
    scen = suites["scenarios"].findall("testcase")
    assert len(scen) == sum(len(s.repeats) for s in card.scenarios) == 6
    assert scen[0].get("classname") == "harness.scenarios.latency-payout"
    assert scen[0].get("name") == "Payout agent 300 ms slower [repeat 1]"
    assert float(scen[0].get("time")) > 10
    # failing repeat: a <failure> naming the probe; aborted repeat: an <error> with the reason
    fail = scen[0].find("failure")
    assert fail is not None and "probe health held 20/41" in fail.get("message")
    aborted = [c for c in scen if c.find("error") is not None]
    assert len(aborted) == 1 and "probe health failed 5 times" in aborted[0].find("error").get("message")
    contracts = suites["contracts"].findall("testcase")
    assert [c.get("classname") for c in contracts] == [f"harness.contracts.{s}" for s in
                                                       ("openapi", "pact", "a2a", "mcp", "diff")]
    diff = contracts[-1].find("failure")
    assert diff is not None and "'amount' removed" in diff.get("message")
    assert contracts[0].find("failure") is None
    run = suites["run"].findall("testcase")
    assert all(c.find("failure") is not None for c in run)  # lost work and violations fail the run
    # counters agree with the cases
    assert root.get("tests") == str(len(root.findall(".//testcase")))
    assert int(root.get("failures")) == len(root.findall(".//failure"))
    assert int(root.get("errors")) == len(root.findall(".//error")) == 1


def test_healthy_run_has_no_failures() -> None:
    root = _valid(render_junit(healthy_scorecard()))
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert root.get("tests") == "4"  # 1 repeat + 1 contract suite + integrity + policy


hostile = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=hostile, reason=hostile, edge=hostile)
def test_any_user_text_gives_valid_xml(card: Scorecard, title: str, reason: str, edge: str) -> None:
    card = card.model_copy(deep=True)
    card.scenarios[0].title = title
    card.scenarios[1].repeats[-1].abort_reason = reason
    card.contracts[-1].edge = edge
    root = _valid(render_junit(card))
    first = root.find("testsuite/testcase")
    assert first.get("name") == f"{xml_safe(title)} [repeat 1]"
    assert root.findall("testsuite")[1].findall("testcase")[-1].get("name") == xml_safe(edge)


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31mred", "ok\ttab\nnew"])
def test_xml_safe_drops_only_what_xml_cannot_carry(text: str) -> None:
    cleaned = xml_safe(text)
    etree.fromstring(f"<a>{cleaned}</a>".encode().replace(b"\x1b", b""))
    assert "\x00" not in cleaned and "\x1b" not in cleaned
    assert cleaned.replace("\t", "").replace("\n", "") == "".join(
        c for c in text if c not in "\x00\x1b\t\n")
