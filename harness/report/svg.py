"""A small static SVG of a timeline, for places that cannot run plotly.js.

Allure attachments and PR comments want a picture, not a 4 MB script; this draws p95
latency, error bars, fault windows and failed probes with nothing but SVG elements.
All text goes through ``xml.sax.saxutils.escape``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from harness.report.data import Timeline

__all__ = ["timeline_svg"]


def timeline_svg(tl: Timeline, *, t_from: float = 0.0, t_to: float | None = None,
                 width: int = 760, height: int = 240) -> str:
    """SVG for the part ``[t_from, t_to]`` (seconds since scenario start) of a timeline."""
    t_to = tl.duration if t_to is None else t_to
    span = max(t_to - t_from, 1e-6)
    left, right, top, mid, bottom = 50, 10, 22, 150, 200
    plot_w = width - left - right
    buckets = [b for b in tl.buckets if t_from <= (b.t0 + b.t1) / 2 <= t_to]
    peak = max([b.p95_ms or 0.0 for b in buckets] + [1.0])
    busiest = max([b.requests for b in buckets] + [1])

    def x(t: float) -> float:
        return left + (min(max(t, t_from), t_to) - t_from) / span * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">',
             f'<rect width="{width}" height="{height}" fill="#fff"/>']
    for w in tl.faults:
        if w.end < t_from or w.start > t_to:
            continue
        x0, x1 = x(w.start), x(w.end)
        parts.append(f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{bottom - top}" '
                     f'fill="rgba(220,53,69,0.15)"><title>{escape(w.fault_id)}</title></rect>')
        parts.append(f'<text x="{x0 + 2:.1f}" y="{top - 6}" fill="#b02a37">'
                     f'{escape(f"{w.type} {w.target}".strip() or w.fault_id)}</text>')
    for m in tl.phases:
        if t_from <= m.t <= t_to:
            parts.append(f'<line x1="{x(m.t):.1f}" x2="{x(m.t):.1f}" y1="{top}" y2="{bottom}" '
                         f'stroke="#999" stroke-dasharray="3,3"/>')
            parts.append(f'<text x="{x(m.t) + 2:.1f}" y="{bottom + 12}" fill="#555">{escape(m.label)}</text>')
    if buckets:
        pts = " ".join(f"{x((b.t0 + b.t1) / 2):.1f},{mid - (b.p95_ms or 0) / peak * (mid - top):.1f}"
                       for b in buckets)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#6f42c1" stroke-width="1.5"/>')
        for b in buckets:
            if b.errors:
                h = b.errors / busiest * (bottom - mid - 4)
                parts.append(f'<rect x="{x(b.t0):.1f}" y="{bottom - h:.1f}" '
                             f'width="{max(x(b.t1) - x(b.t0) - 0.5, 1):.1f}" height="{h:.1f}" fill="#dc3545"/>')
    for m in tl.probe_failures:
        if t_from <= m.t <= t_to:
            parts.append(f'<text x="{x(m.t):.1f}" y="{mid + 14}" fill="#dc3545" text-anchor="middle">×'
                         f'<title>{escape(m.label)} failed</title></text>')
    parts.append(f'<text x="4" y="{top + 8}" fill="#6f42c1">p95 {peak:.0f} ms</text>')
    parts.append(f'<text x="4" y="{bottom - 2}" fill="#dc3545">errors</text>')
    parts.append(f'<text x="{width - right}" y="{height - 4}" text-anchor="end" fill="#555">'
                 f'{span:.1f} s</text>')
    parts.append(f"<desc>{escape(tl.scenario)}</desc>")
    parts.append("</svg>")
    return "\n".join(parts)
