"""Report rendering speed for a 10,000-event journal (target: report.html in < 3 s).

Baseline measured in the same run: json-decoding every journal line, the least any
reader of the journal must do. Printed: best-of-N seconds and the ratio to the baseline
for ``render_html`` alone and for ``write_reports`` (html, summary, junit, allure, history).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

EVENTS = 10_000
TARGET_S = 3.0


def _best(fn: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))  # tests.report.synth builds the synthetic run
    from harness.report import write_reports
    from harness.report.data import load_run
    from harness.report.html import render_html
    from tests.report.synth import write_run

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "reports" / "bench"
        write_run(run_dir, run_id="bench", target_events=EVENTS)
        journal = run_dir / "journal.jsonl"
        n = sum(1 for _ in journal.open())

        def baseline() -> None:
            with journal.open() as fh:
                for line in fh:
                    json.loads(line)

        def render() -> None:
            render_html(load_run(run_dir))

        def everything() -> None:
            write_reports(run_dir, history=Path(tmp) / "reports" / "history.jsonl")

        cold = _best(render, rounds=1)  # first call pays for imports and template compile
        base = _best(baseline)
        html_s = _best(render)
        all_s = _best(everything)
        size = (run_dir / "report.html").stat().st_size
    print(f"journal: {n} events ({journal.name})")
    print(f"baseline json-decode journal: {base * 1000:8.1f} ms")
    print(f"render_html (cold, 1st call): {cold * 1000:8.1f} ms  ratio {cold / base:6.1f}x")
    print(f"render_html (warm, best of 3): {html_s * 1000:7.1f} ms  ratio {html_s / base:6.1f}x")
    print(f"write_reports (all outputs):  {all_s * 1000:8.1f} ms  ratio {all_s / base:6.1f}x")
    print(f"report.html size: {size / 1e6:.2f} MB (plotly.js inlined once)")
    verdict = "OK" if max(cold, all_s) < TARGET_S else "SLOWER THAN TARGET"
    print(f"target < {TARGET_S:.0f} s for report.html: {verdict}")


if __name__ == "__main__":
    main()
