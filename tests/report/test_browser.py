"""report.html in a real headless Chromium, offline: the charts draw, nothing is fetched,
nothing executes from user text. Saves test-artifacts/report.png for people to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.report import write_reports
from tests.report.conftest import XSS, retitle
from tests.report.synth import write_run

CHROMIUM = os.environ.get("CHROMIUM_PATH") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_offline_in_chromium(tmp_path: Path, artifacts_dir: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium with `apt-get install -y chromium`")
    from playwright.sync_api import Route, sync_playwright

    hist = tmp_path / "reports" / "history.jsonl"
    old = tmp_path / "reports" / "r0"
    write_run(old, run_id="r0", mttr_scale=0.5, score_offset=6)
    write_reports(old, history=hist)
    run = tmp_path / "reports" / "r1"
    write_run(run, run_id="r1")
    retitle(run, XSS)
    page_path = write_reports(run, history=hist, baseline=old)["html"]

    console_errors: list[str] = []
    page_errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})

            def route(r: Route) -> None:
                requests.append(r.request.url)
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_path.resolve().as_uri())
            page.wait_for_selector("#timeline-2 .main-svg", timeout=20_000)
            page.wait_for_selector("#trend-chart .main-svg", timeout=20_000)

            charts = page.locator(".plotly-chart")
            assert charts.count() == 4  # three scenario timelines + trend
            # every plot drew inside its own container (an id clash once drew the trend over its section)
            assert page.evaluate("[...document.querySelectorAll('.main-svg')]"
                                 ".every(s => s.closest('.plotly-chart') !== null)")
            heading = page.locator("#trend h2").bounding_box()
            trend = page.locator("#trend-chart .main-svg").first.bounding_box()
            assert heading is not None and trend is not None and trend["y"] > heading["y"] + heading["height"]
            for i in range(3):
                chart = page.locator(f"#timeline-{i}")
                # the latency and request traces drew as SVG paths
                assert chart.locator(".scatterlayer .trace").count() >= 2
                assert chart.locator(".barlayer .trace").count() == 2
            # fault windows: shaded rects in the shape layer, visible and wider than a hairline
            faults = page.locator("#timeline-1 .shapelayer path[style*='fill: rgb(220, 53, 69)']")
            assert faults.count() == 2
            box = faults.first.bounding_box()
            assert box is not None and box["width"] > 20 and box["height"] > 100
            assert faults.first.is_visible()
            # failed probes are drawn as markers in the probe lane
            assert page.locator("#timeline-1 .scatterlayer .point").count() > 5
            # escaping: the hostile title is shown as text and never ran
            heading = page.locator("section.scenario h2").first.inner_text()
            assert XSS in heading
            assert page.evaluate("document.querySelectorAll('script:not([type])').length") == 2
            assert dialogs == []
            assert console_errors == [] and page_errors == []
            assert all(u.startswith("file://") for u in requests), requests
            page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)
        finally:
            browser.close()
    assert (artifacts_dir / "report.png").stat().st_size > 50_000
