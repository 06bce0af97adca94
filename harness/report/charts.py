"""Plotly charts for report.html: one timeline per scenario and the trend over runs.

Figures are built as plain plotly.js JSON (data + layout), not with ``plotly.graph_objects``:
its per-property validation cost ~0.5 s per chart, which a 10,000-event report cannot
afford, and the JSON schema of plotly.js is stable. Each chart is a ``<div>`` plus a
``<script type="application/json">`` spec; one small script on the page draws them all,
and the page inlines plotly.js once (``plotly_js()``), so ten charts cost one library.

Escaping: the JSON has ``<``, ``>`` and ``&`` as ``\\u`` escapes, so no data can close the
``<script>`` element; user text that plotly renders as pseudo-HTML (probe names, fault
targets, run ids) is HTML-escaped first, because plotly would otherwise interpret tags.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from typing import Any

from harness.report.data import Timeline

__all__ = ["DRAW_SCRIPT", "chart_div", "plotly_js", "timeline_figure", "trend_figure"]

CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
_FAULT_FILL = "rgba(220, 53, 69, 0.14)"
_PHASE_COLORS = {"baseline": "#6c757d", "inject": "#dc3545", "observe": "#fd7e14",
                 "revert": "#0d6efd", "recover": "#198754"}
_GRID = {"gridcolor": "#e9ecef", "zerolinecolor": "#dee2e6", "linecolor": "#adb5bd"}
_BASE_LAYOUT = {"paper_bgcolor": "#fff", "plot_bgcolor": "#fff", "hovermode": "closest",
                "font": {"family": "system-ui, sans-serif", "size": 11, "color": "#343a40"}}

#: Draws every chart spec on the page; runs once, after plotly.js.
DRAW_SCRIPT = """
document.querySelectorAll('script[type="application/json"].chart-spec').forEach(function (el) {
  var spec = JSON.parse(el.textContent);
  Plotly.newPlot(el.dataset.target, spec.data, spec.layout, spec.config);
});
"""


def _t(text: str) -> str:
    """User text for plotly's pseudo-HTML renderer: shown literally, never as markup."""
    return html.escape(text, quote=False)


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle, to inline once per page (no CDN: the report must open offline)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _script_json(obj: Any) -> str:
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def chart_div(div_id: str, figure: dict[str, Any], height: int) -> str:
    """A chart container and its JSON spec (drawn by ``DRAW_SCRIPT``)."""
    spec = {"data": figure["data"], "layout": figure["layout"], "config": CONFIG}
    return (f'<div id="{div_id}" class="plotly-chart" style="height:{height}px;width:100%"></div>\n'
            f'<script type="application/json" class="chart-spec" data-target="{div_id}">'
            f"{_script_json(spec)}</script>")


def _r(v: float | None, digits: int = 2) -> float | None:
    return None if v is None else round(v, digits)


def timeline_figure(tl: Timeline) -> dict[str, Any]:
    """Latency and errors over time, fault windows shaded, failed probes marked, phases labelled.

    Three stacked rows sharing one time axis: latency (p50/p95 per bucket), ok requests and
    errors per bucket, and one lane per probe with a red cross for every failure.
    """
    mids = [_r((b.t0 + b.t1) / 2, 3) for b in tl.buckets]
    width = [_r(b.t1 - b.t0, 3) for b in tl.buckets]
    hover = "%{y:.0f} ms at %{x:.1f} s<extra>%{fullData.name}</extra>"
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": "p95 latency", "x": mids,
         "y": [_r(b.p95_ms) for b in tl.buckets], "line": {"color": "#6f42c1", "width": 2},
         "hovertemplate": hover, "xaxis": "x", "yaxis": "y"},
        {"type": "scatter", "mode": "lines", "name": "p50 latency", "x": mids,
         "y": [_r(b.p50_ms) for b in tl.buckets], "line": {"color": "#0dcaf0", "width": 1.5},
         "hovertemplate": hover, "xaxis": "x", "yaxis": "y"},
        {"type": "bar", "name": "ok requests", "x": mids, "width": width,
         "y": [b.requests - b.errors for b in tl.buckets], "marker": {"color": "rgba(25,135,84,0.55)"},
         "xaxis": "x", "yaxis": "y2"},
        {"type": "bar", "name": "errors", "x": mids, "width": width, "y": [b.errors for b in tl.buckets],
         "marker": {"color": "#dc3545"}, "xaxis": "x", "yaxis": "y2"},
    ]
    if tl.probe_failures:
        data.append({
            "type": "scatter", "mode": "markers", "name": "probe failed",
            "x": [_r(m.t, 3) for m in tl.probe_failures], "y": [_t(m.label) for m in tl.probe_failures],
            "text": [_t(m.detail[:120]) for m in tl.probe_failures],
            "marker": {"symbol": "x", "color": "#dc3545", "size": 9},
            "hovertemplate": "%{y} failed at %{x:.1f} s<br>%{text}<extra></extra>", "xaxis": "x", "yaxis": "y3",
        })
    if tl.notes:
        data.append({
            "type": "scatter", "mode": "markers", "name": "game-day note",
            "x": [_r(m.t, 3) for m in tl.notes], "y": [_t(m.label or "note") for m in tl.notes],
            "text": [_t(m.detail[:200]) for m in tl.notes],
            "marker": {"symbol": "star", "color": "#6f42c1", "size": 10},
            "hovertemplate": "%{y} at %{x:.1f} s<br>%{text}<extra></extra>", "xaxis": "x", "yaxis": "y3",
        })
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for w in tl.faults:
        # One rect over all three rows: yref "paper" spans the whole plot height.
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": _r(w.start, 3),
                       "x1": _r(max(w.end, w.start + 0.05), 3), "y0": 0, "y1": 1, "fillcolor": _FAULT_FILL,
                       "line": {"width": 0}, "layer": "below", "name": _t(f"fault {w.fault_id}")})
        notes.append({"x": _r(w.start, 3), "y": 1.0, "xref": "x", "yref": "paper", "xanchor": "left",
                      "yanchor": "bottom", "showarrow": False, "font": {"size": 10, "color": "#b02a37"},
                      "text": _t(f"{w.type or 'fault'} → {w.target}" if w.target else w.fault_id)})
    for i, m in enumerate(tl.phases):
        color = _PHASE_COLORS.get(m.label, "#6c757d")
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": _r(m.t, 3), "x1": _r(m.t, 3),
                       "y0": 0, "y1": 1, "line": {"color": color, "width": 1, "dash": "dot"}})
        next_t = tl.phases[i + 1].t if i + 1 < len(tl.phases) else tl.duration
        if next_t - m.t < tl.duration * 0.045:
            continue  # a short phase (revert is often instant): its line is drawn, its label would overlap
        notes.append({"x": _r(m.t, 3), "y": 0.985, "xref": "x", "yref": "paper", "xanchor": "left",
                      "yanchor": "top", "showarrow": False, "font": {"size": 9, "color": color},
                      "text": _t(m.label if m.repeat in (None, 0, 1) else f"{m.label} r{m.repeat}")})
    for m in tl.aborts:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": _r(m.t, 3), "x1": _r(m.t, 3),
                       "y0": 0, "y1": 1, "line": {"color": "#000", "width": 2}})
        notes.append({"x": _r(m.t, 3), "y": 0.5, "xref": "x", "yref": "paper", "xanchor": "right",
                      "showarrow": False, "font": {"size": 10}, "text": "abort"})
    # The markers row (failed probes, notes) only exists when it has something to show; the time
    # axis must hang below the lowest row that has traces, or plotly draws it under the first one.
    marker_row = bool(tl.probe_failures or tl.notes)
    layout = {
        **_BASE_LAYOUT, "height": 450, "barmode": "stack", "bargap": 0, "shapes": shapes, "annotations": notes,
        "margin": {"l": 60, "r": 20, "t": 36, "b": 90},
        # below the time axis: the top edge belongs to the fault labels
        "legend": {"orientation": "h", "y": -0.2, "yanchor": "top", "x": 0, "font": {"size": 10}},
        "xaxis": {**_GRID, "anchor": "y3" if marker_row else "y2", "range": [0, max(tl.duration, 1.0)],
                  "title": {"text": "seconds since scenario start"}},
        "yaxis": {**_GRID, "domain": [0.46, 1.0], "rangemode": "tozero", "title": {"text": "latency ms"}},
        "yaxis2": {**_GRID, "domain": [0.19 if marker_row else 0.0, 0.43], "rangemode": "tozero",
                   "title": {"text": "requests"}},
        "yaxis3": {**_GRID, "domain": [0.0, 0.15], "type": "category", "tickfont": {"size": 9},
                   "automargin": True},  # long probe names push the plot right instead of being cut
    }
    return {"data": data, "layout": layout}


def trend_figure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Resilience score and MTTR p95 over the last runs (oldest left)."""
    labels = [_t(str(r.get("run_id", "?"))) for r in rows]
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": "resilience score", "x": labels,
         "y": [r.get("resilience_score") for r in rows], "line": {"color": "#198754"}, "yaxis": "y"},
        {"type": "scatter", "mode": "lines+markers", "name": "MTTR p95 (s)", "x": labels,
         "y": [r.get("mttr_p95_s") for r in rows], "line": {"color": "#dc3545", "dash": "dot"}, "yaxis": "y2"},
    ]
    layout = {
        **_BASE_LAYOUT, "height": 300, "margin": {"l": 60, "r": 60, "t": 30, "b": 80},
        "xaxis": {**_GRID, "type": "category", "tickangle": -30, "tickfont": {"size": 9}},
        "yaxis": {**_GRID, "title": {"text": "score"}, "range": [0, 105]},
        "yaxis2": {"title": {"text": "MTTR p95 s"}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                   "showgrid": False},
        "legend": {"orientation": "h", "y": 1.15, "x": 1, "xanchor": "right"},
    }
    return {"data": data, "layout": layout}
