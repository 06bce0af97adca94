"""Fixtures: a realistic scored run folder (tests/report/synth.py) and its written reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model.scorecard import Scorecard
from tests.report.synth import write_run

XSS = "<script>alert(1)</script>"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    d = tmp_path / "reports" / "20261127T120000Z-synth"
    write_run(d)
    return d


@pytest.fixture
def card(run_dir: Path) -> Scorecard:
    return Scorecard.model_validate_json((run_dir / "scorecard.json").read_bytes())


def retitle(run_dir: Path, title: str) -> Scorecard:
    """Give the first scenario a hostile title (user-supplied text in every output)."""
    card = Scorecard.model_validate_json((run_dir / "scorecard.json").read_bytes())
    card.scenarios[0].title = title
    card.policy.violations[0].reason = title
    (run_dir / "scorecard.json").write_text(card.model_dump_json(), encoding="utf-8")
    return card
