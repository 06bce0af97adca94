"""``summary.md``: the few lines a CI job summary or a PR comment should show.

GitHub-flavoured Markdown. User text is escaped for table cells (``|``, newlines) and
for HTML (GitHub renders inline HTML in comments, so a ``<script>`` title stays text).
"""

from __future__ import annotations

from pathlib import Path

from harness.model.scorecard import Scorecard
from harness.report.base import ReportContext, Reporter
from harness.report.compare import compare

__all__ = ["render_summary", "top_failures"]

_ICON = {"pass": "✅", "fail": "❌", "aborted": "⛔"}


def _md(text: object) -> str:
    """Escape for Markdown prose and table cells: no markup, no cell breaks, one line.

    Only ``<`` needs an entity (it is what opens HTML); ``>`` mid-line is plain text.
    """
    s = str(text).replace("<", "&lt;")
    for ch in ("\\", "|", "`", "*", "_", "[", "]"):
        s = s.replace(ch, "\\" + ch)
    return " ".join(s.split())


def _code(text: object) -> str:
    """Inline code: literal (entities are not decoded there), so only backticks and pipes go."""
    return "`" + " ".join(str(text).replace("`", "'").replace("|", "/").split()) + "`"


def _num(v: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}".rstrip("0").rstrip(".") + unit


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.2f}".rstrip("0").rstrip(".") + " %"


def top_failures(card: Scorecard, limit: int = 10) -> list[str]:
    """The most important problems first: integrity, aborts, failed scenarios, policy, contracts."""
    out: list[str] = []
    for w in card.integrity.lost:
        out.append(f"lost work item {_code(w.workflow_id)}" + (f" ({_md(w.detail)})" if w.detail else ""))
    for w in card.integrity.duplicated_items:
        out.append(f"duplicated work item {_code(w.workflow_id)}" + (f" ({_md(w.detail)})" if w.detail else ""))
    # declared but not measured: the telemetry that should have measured it is missing (the gate fails it)
    if card.integrity.duplicated is None and card.integrity.declared:
        out.append(f"duplicated work {_md(card.integrity.duplicated_text)}")
    if card.policy.adherence is None and card.policy.declared:
        out.append(f"policy adherence not measured ({_md(card.policy.not_measured or 'no agent actions')})")
    for s in card.scenarios:
        for r in s.repeats:
            if r.aborted:
                out.append(f"scenario {_md(s.scenario)} repeat {r.repeat} aborted: {_md(r.abort_reason or '')}")
    for s in card.scenarios:
        if not s.passed and not s.aborted:
            slos = list(dict.fromkeys(f"{x.metric} in {x.phase} = {_num(x.actual)}"
                                      for r in s.repeats for x in r.slos if not x.passed))
            held = [f"{p.probe} {p.ok}/{p.total} (repeat {r.repeat})"
                    for r in s.repeats for p in r.probes if p.ok < p.total]
            why = "; ".join(filter(None, [
                f"probes {', '.join(held[:3])}" if held else "", f"SLO {', '.join(slos[:3])}" if slos else ""]))
            out.append(f"scenario {_md(s.scenario)} failed (score {_num(s.score, digits=1)})"
                       + (f": {_md(why)}" if why else ""))
    for v in card.policy.violations:
        out.append(f"policy violation: {_md(v.principal)} {_md(v.action)} on {_md(v.resource)}"
                   f" (trace {_code(v.trace_id or 'n/a')}){': ' + _md(v.reason) if v.reason else ''}")
    for c in card.contracts:
        for b in c.breaking_changes:
            out.append(f"breaking contract change ({c.suite} {_md(c.edge)}): {_md(b)}")
        for f in c.failures[:3]:
            out.append(f"contract {c.suite} {_md(c.edge)}: {_md(f.name)}: {_md(f.message)}")
    # identical lines (the same policy gap hit 70 times) collapse into one with a count
    counts: dict[str, int] = {}
    for line in out:
        counts[line] = counts.get(line, 0) + 1
    out = [line if n == 1 else f"{line} (×{n})" for line, n in counts.items()]
    if len(out) > limit:
        out = [*out[:limit], f"… and {len(out) - limit} more (see report.html)"]
    return out


def render_summary(card: Scorecard, *, baseline: Scorecard | None = None,
                   regressions: list[str] | None = None) -> str:
    lines = [
        f"## {_ICON.get(card.verdict, '')} harness run {_code(card.run.run_id)}: **{card.verdict.upper()}**",
        "",
        "| figure | value |",
        "|---|---|",
        f"| resilience score | **{_num(card.resilience_score, digits=1)}** / 100 |",
        f"| availability | {_pct(card.availability)} |",
        f"| MTTD p50 / p95 | {_num(card.mttd.p50, ' s')} / {_num(card.mttd.p95, ' s')} |",
        f"| MTTR p50 / p95 | {_num(card.mttr.p50, ' s')} / {_num(card.mttr.p95, ' s')} |",
        f"| policy adherence | {_pct(card.policy.adherence)} ({len(card.policy.violations)} violations) |"
        if card.policy.adherence is not None or not card.policy.not_measured
        else f"| policy adherence | not measured ({_md(card.policy.not_measured)}) |",
        f"| lost / duplicated work | {len(card.integrity.lost)} / {_md(card.integrity.duplicated_text)} |",
        f"| contract checks failed | {sum(c.failed for c in card.contracts)}"
        f" ({sum(len(c.breaking_changes) for c in card.contracts)} breaking changes) |",
        "",
    ]
    if card.scenarios:
        lines += ["| scenario | score | result | MTTR p95 |", "|---|---:|---|---:|"]
        for s in card.scenarios:
            result = "aborted" if s.aborted else ("pass" if s.passed else "**fail**")
            lines.append(f"| {_md(s.title)} ({_code(s.scenario)}) | {_num(s.score, digits=1)} | {result}"
                         f" | {_num(s.mttr.p95, ' s')} |")
        lines.append("")
    if baseline is not None:
        lines += [f"### Compared with baseline {_code(baseline.run.run_id)}", ""]
        lines += ["| figure | baseline | now | change |", "|---|---:|---:|---:|"]
        for d in compare(card, baseline):
            change = "" if d.change is None else f"{d.change:+.4g}{d.unit}"
            mark = " ⚠️" if d.worse else ""
            fmt = _pct if d.percent else (lambda v, u=d.unit: _num(v, u))
            if d.percent and d.change is not None:
                change = f"{d.change * 100:+.2f} pts"
            lines.append(f"| {d.label} | {fmt(d.baseline)} | {fmt(d.current)} | {change}{mark} |")
        lines.append("")
        if regressions:
            lines += ["**Regressions:**", *[f"- {_md(r)}" for r in regressions], ""]
        else:
            lines += ["No regressions against the baseline.", ""]
    failures = top_failures(card)
    if card.telemetry.warnings:
        lines += ["### Telemetry", "", f"{card.telemetry.spans_kept} spans and {card.telemetry.audit_kept} "
                  "audit events scored.", "", *[f"- {_md(w)}" for w in card.telemetry.warnings[:10]], ""]
    if card.journal.warning:
        lines += ["### Journal", "", f"- {_md(card.journal.warning)}", ""]
    if failures:
        lines += ["### Top failures", "", *[f"- {f}" for f in failures], ""]
    lines.append("Full report: `report.html` (self-contained, opens offline).")
    return "\n".join(lines) + "\n"


def _write_summary(ctx: ReportContext) -> Path:
    text = render_summary(ctx.scorecard, baseline=ctx.baseline, regressions=ctx.regressions)
    return ctx.folder.write_bytes(ctx.folder.summary_md, text.encode())


REPORTER = Reporter("summary", "summary.md: the verdict and scores in Markdown (CI job summaries, PR comments)",
                    _write_summary)
