"""``junit.xml``: the run as test results that any CI system can show.

Layout (the common Jenkins/Ant JUnit format, validated against the XSD in tests):

- suite ``scenarios``: one testcase per scenario repeat; a failed repeat is a
  ``<failure>`` (probes, SLO breaches, faults not recovered), an aborted one an ``<error>``;
- suite ``contracts``: one testcase per contract suite and edge;
- suite ``run``: integrity (lost/duplicated work) and policy adherence, the two run-wide
  checks that fail a run whatever the scenario scores say. A check the scorecard could not
  measure is never a pass: ``<skipped>`` with the reason when system.yaml declares nothing
  for it, a ``NotMeasured`` failure when it declares something the run did not measure
  (the gate fails those too, docs/gate.md).

Characters XML 1.0 cannot carry (NUL, most C0 controls) are dropped from user text,
otherwise one odd byte in a probe detail would make the whole file unreadable.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.model.scorecard import ContractResult, RepeatResult, ScenarioResult, Scorecard
from harness.report.base import ReportContext, Reporter

__all__ = ["render_junit", "xml_safe"]

_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: object) -> str:
    return _INVALID_XML.sub("", str(text))


def _case(suite: ET.Element, classname: str, name: str, seconds: float | None) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=xml_safe(classname), name=xml_safe(name),
                         time=f"{max(seconds or 0.0, 0.0):.3f}")


def _fail(case: ET.Element, tag: str, message: str, kind: str, details: list[str]) -> None:
    el = ET.SubElement(case, tag, message=xml_safe(message), type=kind)
    el.text = xml_safe("\n".join(details))


def _repeat_problems(r: RepeatResult) -> list[str]:
    out = [f"probe {p.probe} held {p.ok}/{p.total}" for p in r.probes if p.ok < p.total]
    for s in r.slos:
        if not s.passed:
            bound = " and ".join(x for x in (f">= {s.min}" if s.min is not None else "",
                                             f"<= {s.max}" if s.max is not None else "") if x)
            out.append(f"SLO {s.metric} in {s.phase}: {s.actual} (required {bound})")
    for f in r.faults:
        if not f.recovered:
            out.append(f"fault {f.fault_id} ({f.type} on {f.target}): no recovery")
        elif f.mttr_s is not None:
            out.append(f"fault {f.fault_id} ({f.type} on {f.target}): MTTD {f.mttd_s} s, MTTR {f.mttr_s} s")
    return out


def _scenario_cases(suite: ET.Element, sc: ScenarioResult) -> tuple[int, int, int]:
    tests = failures = errors = 0
    for r in sc.repeats:
        tests += 1
        seconds = None if r.ended_at is None else r.ended_at - r.started_at
        case = _case(suite, f"harness.scenarios.{sc.scenario}", f"{sc.title} [repeat {r.repeat}]", seconds)
        problems = _repeat_problems(r)
        if r.aborted:
            errors += 1
            _fail(case, "error", f"aborted: {r.abort_reason or 'abort condition met'}", "Aborted", problems)
        elif not r.passed:
            failures += 1
            first = next((p for p in problems if "MTTR" not in p), "steady state not held")
            _fail(case, "failure", f"score {r.score:.1f}: {first}", "ScenarioFailed", problems)
        props = ET.SubElement(case, "system-out")
        props.text = xml_safe(f"score {r.score:.1f}\n" + "\n".join(problems))
    return tests, failures, errors


def _contract_case(suite: ET.Element, c: ContractResult) -> bool:
    case = _case(suite, f"harness.contracts.{c.suite}", c.edge, None)
    if c.failed or c.breaking_changes:
        details = [f"breaking: {b}" for b in c.breaking_changes]
        details += [f"{f.name}: {f.message}" for f in c.failures]
        msg = f"{c.failed} of {c.passed + c.failed} checks failed"
        if c.breaking_changes:
            msg += f", {len(c.breaking_changes)} breaking change(s): {c.breaking_changes[0]}"
        _fail(case, "failure", msg, "ContractFailed", details)
        return True
    return False


def _suite(root: ET.Element, name: str, timestamp: str) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=name, timestamp=timestamp)


def render_junit(card: Scorecard) -> bytes:
    """The whole junit.xml document (UTF-8 bytes with declaration)."""
    stamp = dt.datetime.fromtimestamp(card.run.started_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name=xml_safe(f"harness run {card.run.run_id}"))
    totals = [0, 0, 0]

    scen = _suite(root, "scenarios", stamp)
    props = ET.SubElement(scen, "properties")
    for key, value in (("run_id", card.run.run_id), ("verdict", card.verdict),
                       ("resilience_score", f"{card.resilience_score:.1f}"), ("git_sha", card.run.git_sha),
                       ("system", card.run.system), ("seed", card.run.seed)):
        if value is not None:
            ET.SubElement(props, "property", name=key, value=xml_safe(value))
    counts = [0, 0, 0]
    for sc in card.scenarios:
        for i, n in enumerate(_scenario_cases(scen, sc)):
            counts[i] += n
    _close(scen, counts, totals)

    con = _suite(root, "contracts", stamp)
    failed = sum(_contract_case(con, c) for c in card.contracts)
    _close(con, [len(card.contracts), failed, 0], totals)

    run = _suite(root, "run", stamp)
    integ = card.integrity
    integrity = _case(run, "harness.run", "integrity: no lost or duplicated work", None)
    run_failures = 0
    if not integ.ok:
        run_failures += 1
        items = [f"lost {w.workflow_id}: {w.detail}" for w in integ.lost]
        items += [f"duplicated {w.workflow_id}: {w.detail}" for w in integ.duplicated_items]
        _fail(integrity, "failure", f"{len(integ.lost)} lost, {integ.duplicated_text}"
              " duplicated work items", "IntegrityFailed", items)
    elif integ.duplicated is None:
        msg = f"no lost work; duplicated work {integ.duplicated_text}"
        run_failures += _not_measured(integrity, msg, declared=bool(integ.declared))
    policy = _case(run, "harness.run", "policy: every agent action allowed", None)
    if card.policy.violations:
        run_failures += 1
        _fail(policy, "failure", f"{len(card.policy.violations)} policy violation(s), adherence "
              f"{card.policy.adherence if card.policy.adherence is not None else 'n/a'}", "PolicyViolation",
              [f"{v.principal} {v.action} {v.resource} trace={v.trace_id} {v.reason}"
               for v in card.policy.violations])
    elif card.policy.adherence is None:
        msg = f"policy adherence not measured ({card.policy.not_measured or 'no agent actions'})"
        run_failures += _not_measured(policy, msg, declared=card.policy.declared)
    run_skipped = len(run.findall("testcase/skipped"))
    _close(run, [2, run_failures, 0], totals, skipped=run_skipped)

    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", str(totals[2]))
    root.set("skipped", str(run_skipped))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _not_measured(case: ET.Element, message: str, *, declared: bool) -> int:
    """Mark a run-wide check the scorecard could not measure, never as passed: skipped when
    nothing was declared for it (nothing to check), failed when something was (the telemetry
    that should have measured it is missing). Returns the number of failures added."""
    if declared:
        _fail(case, "failure", message, "NotMeasured", [message])
        return 1
    ET.SubElement(case, "skipped", message=xml_safe(message))
    return 0


def _close(suite: ET.Element, counts: list[int], totals: list[int], *, skipped: int = 0) -> None:
    suite.set("tests", str(counts[0]))
    suite.set("failures", str(counts[1]))
    suite.set("errors", str(counts[2]))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{sum(float(c.get('time', '0')) for c in suite.findall('testcase')):.3f}")
    for i in range(3):
        totals[i] += counts[i]


def _write_junit(ctx: ReportContext) -> Path:
    return ctx.folder.write_bytes(ctx.folder.junit_xml, render_junit(ctx.scorecard))


REPORTER = Reporter("junit", "junit.xml: one test case per scenario repeat and contract suite, for CI test views",
                    _write_junit)
