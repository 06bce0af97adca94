"""``report.html``: one self-contained page (styles, plotly.js and data inlined).

Rendered with Jinja2 with autoescaping on, so every string from a scenario file, a
journal or a policy (titles, reasons, trace ids) is text, never markup. The page works
from ``file://`` with networking off: no CDN, no fonts, no external requests.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.model.scenario import PHASES
from harness.model.scorecard import ScenarioResult, Scorecard, Violation
from harness.report.base import ReportContext, Reporter
from harness.report.data import ScoredRun, timelines

__all__ = ["render_html"]

_ASSETS = Path(__file__).parent / "assets"
TREND_RUNS = 30  # the trend chart shows at most this many recent runs


def _fmt_num(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return f"{text}{unit}"


def _fmt_pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}".rstrip("0").rstrip(".") + " %"


def _fmt_s(value: float | None) -> str:
    return _fmt_num(value, 2, " s")


def _fmt_time(epoch: float | None) -> str:
    if epoch is None:
        return "n/a"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", text).strip("-") or "x"


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_ASSETS)),
        autoescape=True,  # all templates: user text is escaped everywhere, not just in .html
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(num=_fmt_num, pct=_fmt_pct, secs=_fmt_s, when=_fmt_time, slug=_slug)
    return env


VIOLATION_ROWS = 500  # the detail table stops here; the grouped table always covers all


def _group_violations(violations: list[Violation]) -> list[dict[str, Any]]:
    """Identical violations (same who/what/why) in one row with a count, phases and sample
    trace ids: a systematic policy gap shows as one line, not as hundreds."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for v in violations:
        key = (v.principal, v.action, v.resource, tuple(v.policies), v.reason)
        g = groups.setdefault(key, {"v": v, "count": 0, "phases": [], "scenarios": [], "traces": []})
        g["count"] += 1
        for field, value in (("phases", v.phase), ("scenarios", v.scenario), ("traces", v.trace_id)):
            if value and value not in g[field]:
                g[field].append(value)
    order = {p: i for i, p in enumerate(PHASES)}
    for g in groups.values():
        g["phases"].sort(key=lambda p: order.get(p, len(order)))
    return sorted(groups.values(), key=lambda g: -g["count"])


def _scenario_view(sc: ScenarioResult, charts: dict[str, str], samples: dict[str, int],
                   notes: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    failing_slos = [(r.repeat, s) for r in sc.repeats for s in r.slos if not s.passed]
    return {
        "result": sc,
        "chart": charts.get(sc.scenario),
        "samples": samples.get(sc.scenario, 0),
        "faults": [(r.repeat, f) for r in sc.repeats for f in r.faults],
        "failing_slos": failing_slos,
        "probes": [(r.repeat, p) for r in sc.repeats for p in r.probes],
        "notes": (notes or {}).get(sc.scenario, []),
    }


def render_html(run: ScoredRun, *, history: list[dict[str, Any]] | None = None,
                baseline: Scorecard | None = None, regressions: list[str] | None = None) -> str:
    """The whole page as one string."""
    from harness.report.charts import DRAW_SCRIPT, chart_div, plotly_js, timeline_figure, trend_figure

    card = run.scorecard
    tls = timelines(run.events)
    titles = {s.scenario: s.title for s in card.scenarios}
    charts: dict[str, str] = {}
    for i, (name, tl) in enumerate(tls.items()):
        charts[name] = chart_div(f"timeline-{i}", timeline_figure(tl), 450)
    # Scenarios in the journal that the scorecard does not list still get their chart.
    extra = [name for name in tls if name not in titles]
    trend_rows = (history or [])[-TREND_RUNS:]
    trend = chart_div("trend-chart", trend_figure(trend_rows), 300) if len(trend_rows) >= 2 else None
    template = _environment().get_template("report.html.j2")
    return template.render(
        card=card,
        scenarios=[_scenario_view(s, charts, {k: v.samples for k, v in tls.items()},
                                  {k: v.notes for k, v in tls.items()}) for s in card.scenarios],
        extra_charts=[(name, charts[name]) for name in extra],
        trend=trend,
        violation_groups=_group_violations(card.policy.violations),
        violation_rows=VIOLATION_ROWS,
        trend_rows=list(reversed(trend_rows[-10:])),
        baseline=baseline,
        regressions=regressions or [],
        events=len(run.events),
        generated=_fmt_time(dt.datetime.now(dt.UTC).timestamp()),
        plotly_js=plotly_js() if charts or trend else "",
        draw_script=DRAW_SCRIPT if charts or trend else "",
        css=(_ASSETS / "report.css").read_text(encoding="utf-8"),
    )


def _write_html(ctx: ReportContext) -> Path:
    page = render_html(ctx.run, history=ctx.history, baseline=ctx.baseline, regressions=ctx.regressions)
    return ctx.folder.write_bytes(ctx.folder.report_html, page.encode())


REPORTER = Reporter("html", "report.html: one self-contained page (timeline, scores, charts; no network)",
                    _write_html)
