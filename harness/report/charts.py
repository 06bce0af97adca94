"""Plotly charts for report.html: one timeline per scenario and the trend over runs.

Each chart is emitted as a ``<div>`` plus a small init script *without* plotly.js; the
page inlines plotly.js once (``plotly_js()``), so ten charts cost one 4 MB library, not
forty. Plotly's JSON encoder escapes ``<``, ``>`` and ``/``, so data cannot close the
``<script>`` element; user text that plotly renders as pseudo-HTML (probe names, fault targets) is
HTML-escaped here first, because plotly would otherwise interpret tags in it.
"""

from __future__ import annotations

import html
from typing import Any

from harness.report.data import Timeline

__all__ = ["plotly_js", "timeline_chart", "trend_chart"]

_CONFIG = {"displaylogo": False, "responsive": True,
           "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
_FAULT_FILL = "rgba(220, 53, 69, 0.14)"
_PHASE_COLORS = {"baseline": "#6c757d", "inject": "#dc3545", "observe": "#fd7e14",
                 "revert": "#0d6efd", "recover": "#198754"}


def _t(text: str) -> str:
    """User text for plotly's pseudo-HTML renderer: shown literally, never as markup."""
    return html.escape(text, quote=False)


def plotly_js() -> str:
    """The plotly.js bundle, to inline once per page (no CDN: the report must open offline)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _to_div(fig: Any, div_id: str) -> str:
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                       config=_CONFIG, validate=False)


def timeline_chart(tl: Timeline, div_id: str) -> str:
    """Latency and errors over time, fault windows shaded, failed probes marked, phases labelled.

    Three stacked rows sharing the time axis: latency (p50/p95 per bucket), requests and
    errors per bucket, and one lane per probe with a red cross for every failure.
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        row_heights=[0.55, 0.28, 0.17])
    mids = [(b.t0 + b.t1) / 2 for b in tl.buckets]
    hover = "%{y:.0f} ms at %{x:.1f} s<extra>%{fullData.name}</extra>"
    fig.add_scatter(x=mids, y=[b.p95_ms for b in tl.buckets], name="p95 latency", mode="lines",
                    line={"color": "#6f42c1", "width": 2}, hovertemplate=hover, row=1, col=1)
    fig.add_scatter(x=mids, y=[b.p50_ms for b in tl.buckets], name="p50 latency", mode="lines",
                    line={"color": "#0dcaf0", "width": 1.5}, hovertemplate=hover, row=1, col=1)
    width = [b.t1 - b.t0 for b in tl.buckets]
    fig.add_bar(x=mids, y=[b.requests - b.errors for b in tl.buckets], width=width, name="ok requests",
                marker_color="rgba(25,135,84,0.55)", row=2, col=1)
    fig.add_bar(x=mids, y=[b.errors for b in tl.buckets], width=width, name="errors",
                marker_color="#dc3545", row=2, col=1)
    if tl.probe_failures:
        fig.add_scatter(
            x=[m.t for m in tl.probe_failures], y=[_t(m.label) for m in tl.probe_failures],
            mode="markers", name="probe failed", marker={"symbol": "x", "color": "#dc3545", "size": 9},
            text=[_t(m.detail[:120]) for m in tl.probe_failures],
            hovertemplate="%{y} failed at %{x:.1f} s<br>%{text}<extra></extra>", row=3, col=1,
        )
    for w in tl.faults:
        # A rect over all three rows: yref "paper" so it spans the chart height.
        fig.add_shape(type="rect", xref="x", yref="paper", x0=w.start, x1=max(w.end, w.start + 0.05),
                      y0=0, y1=1, fillcolor=_FAULT_FILL, line={"width": 0}, layer="below",
                      name=f"fault {w.fault_id}")
        fig.add_annotation(x=w.start, y=1.0, xref="x", yref="paper", xanchor="left", yanchor="bottom",
                           showarrow=False, font={"size": 10, "color": "#b02a37"},
                           text=_t(f"{w.type or 'fault'} → {w.target}" if w.target else w.fault_id))
    last_label = -1e9
    for m in tl.phases:
        fig.add_shape(type="line", xref="x", yref="paper", x0=m.t, x1=m.t, y0=0, y1=1,
                      line={"color": _PHASE_COLORS.get(m.label, "#6c757d"), "width": 1, "dash": "dot"})
        if m.t - last_label < tl.duration * 0.045:
            continue  # a short phase (revert is often instant): its line is drawn, its label would overlap
        last_label = m.t
        fig.add_annotation(x=m.t, y=0.985, xref="x", yref="paper", yanchor="top", xanchor="left",
                           showarrow=False, font={"size": 9, "color": _PHASE_COLORS.get(m.label, "#495057")},
                           text=_t(m.label if m.repeat in (None, 0, 1) else f"{m.label} r{m.repeat}"))
    for m in tl.aborts:
        fig.add_shape(type="line", xref="x", yref="paper", x0=m.t, x1=m.t, y0=0, y1=1,
                      line={"color": "#000", "width": 2})
    fig.update_layout(
        height=430, barmode="stack", bargap=0, template="plotly_white",
        margin={"l": 60, "r": 20, "t": 48, "b": 50},
        legend={"orientation": "h", "y": 1.09, "x": 1, "xanchor": "right", "font": {"size": 10}},
        hovermode="closest",
    )
    fig.update_yaxes(title_text="latency ms", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="requests", row=2, col=1, rangemode="tozero")
    fig.update_yaxes(type="category", row=3, col=1, tickfont={"size": 9})
    fig.update_xaxes(title_text="seconds since scenario start", row=3, col=1,
                     range=[0, max(tl.duration, 1.0)])
    return _to_div(fig, div_id)


def trend_chart(rows: list[dict[str, Any]], div_id: str) -> str:
    """Resilience score and MTTR p95 over the last runs (oldest left)."""
    import plotly.graph_objects as go

    labels = [_t(str(r.get("run_id", "?"))) for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=labels, y=[r.get("resilience_score") for r in rows], name="resilience score",
                    mode="lines+markers", line={"color": "#198754"}, yaxis="y")
    fig.add_scatter(x=labels, y=[r.get("mttr_p95_s") for r in rows], name="MTTR p95 (s)",
                    mode="lines+markers", line={"color": "#dc3545", "dash": "dot"}, yaxis="y2")
    fig.update_layout(
        height=300, template="plotly_white", margin={"l": 60, "r": 60, "t": 30, "b": 80},
        xaxis={"type": "category", "tickangle": -30, "tickfont": {"size": 9}},
        yaxis={"title": {"text": "score"}, "range": [0, 105]},
        yaxis2={"title": {"text": "MTTR p95 s"}, "overlaying": "y", "side": "right", "rangemode": "tozero"},
        legend={"orientation": "h", "y": 1.15, "x": 1, "xanchor": "right"},
    )
    return _to_div(fig, div_id)
