"""Report formats are a catalog: built-ins, users' own from entry points, and a choice of them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.report import reporters, write_reports
from harness.report.catalog import BUILTINS, REPORTERS
from tests.plugin_dist import install_plugin, plugin_site

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
from harness.report.base import Reporter

def write(ctx):
    path = ctx.folder.root / "verdict.txt"
    return ctx.folder.write_bytes(path, f"{ctx.scorecard.run.run_id} {ctx.scorecard.verdict}".encode())

def explode(ctx):
    raise RuntimeError("disk on fire")

REPORTER = Reporter("verdict", "verdict.txt: the run id and verdict", write)
BROKEN = Reporter("broken", "always fails", explode)
'''


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    with plugin_site(tmp_path, [REPORTERS.reset]) as path:
        yield path


def test_every_format_has_a_name_and_a_docs_line() -> None:
    """The docs line is the format's documentation (``harness report --list-formats``), so a
    new format needs no separate docs edit; docs/reports.md points there."""
    assert "--list-formats" in (ROOT / "docs" / "reports.md").read_text()
    for reporter in BUILTINS:
        assert reporter.name.isidentifier() and reporter.docs.strip(), reporter
        assert reporter.docs.split(":")[0].strip(), f"{reporter.name}: the docs line starts with what it writes"


def test_a_plugin_reporter_writes_its_file_beside_the_built_ins(site: Path, run_dir: Path) -> None:
    install_plugin(site, "[harness.reporters]\nverdict = harness_user_plugin:REPORTER\n", PLUGIN)
    assert list(reporters()) == ["html", "summary", "junit", "allure", "verdict"]
    out = write_reports(run_dir, history=None)
    card_id = run_dir.name
    assert out["verdict"].read_text().startswith(card_id)
    assert {"html", "summary", "junit", "allure"} <= set(out) and out["html"].is_file()


def test_formats_choose_which_reports_are_written(run_dir: Path) -> None:
    out = write_reports(run_dir, history=None, formats=["summary"])
    assert set(out) == {"summary"}
    assert not (run_dir / "report.html").exists() and not (run_dir / "junit.xml").exists()
    with pytest.raises(ConfigError, match=r"unknown report format 'pdf'.*known: \['allure', 'html'"):
        write_reports(run_dir, history=None, formats=["pdf"])


def test_a_failing_plugin_is_named_after_the_built_ins_are_written(site: Path, run_dir: Path) -> None:
    install_plugin(site, "[harness.reporters]\nbroken = harness_user_plugin:BROKEN\n", PLUGIN)
    with pytest.raises(ConfigError, match="report format 'broken' failed: RuntimeError: disk on fire"):
        write_reports(run_dir, history=None)
    assert (run_dir / "report.html").is_file() and (run_dir / "summary.md").is_file()


def test_a_plugin_that_cannot_load_is_named_and_costs_no_built_in_report(site: Path, run_dir: Path) -> None:
    install_plugin(site, "[harness.reporters]\nghost = harness_user_plugin_missing:REPORTER\n")
    with pytest.raises(ConfigError, match=r"entry point 'ghost'.*cannot be loaded"):
        write_reports(run_dir, history=None)
    assert (run_dir / "report.html").is_file() and (run_dir / "junit.xml").is_file()


def test_cli_lists_formats_and_writes_only_the_chosen_one(run_dir: Path) -> None:
    listed = subprocess.run([sys.executable, "-m", "harness", "report", "--list-formats"],
                            capture_output=True, text=True, cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["html", "summary", "junit", "allure"]
    done = subprocess.run([sys.executable, "-m", "harness", "report", str(run_dir), "--no-history",
                           "--format", "junit"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert (run_dir / "junit.xml").is_file() and not (run_dir / "report.html").exists()
    bad = subprocess.run([sys.executable, "-m", "harness", "report", str(run_dir), "--format", "pdf"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "unknown report format 'pdf'" in bad.stderr and "Traceback" not in bad.stderr
