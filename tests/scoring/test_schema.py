"""The published scorecard JSON Schema matches the model, and real scorecards validate against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from harness.model.scorecard import Scorecard
from harness.scoring import score_run
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "scorecard.schema.json"


def test_published_schema_is_up_to_date() -> None:
    published = json.loads(SCHEMA.read_text())
    current = Scorecard.model_json_schema(by_alias=True)
    published.pop("$schema", None)
    published.pop("$id", None)
    assert published == current, "run `harness schema` and commit schemas/scorecard.schema.json"


def test_scorecard_validates_against_schema() -> None:
    b = JournalBuilder()
    run_start(b)
    truth = add_repeat(b, RepeatPlan(outage=(103.0, 104.0), workflows=["completed", "missing"],
                                     slos=[{"metric": "p95_latency_ms", "phase": "all", "max": 50}]))
    run_end(b, truth.end + 1)
    card = score_run(b.run_data())
    jsonschema.validate(json.loads(card.model_dump_json()), json.loads(SCHEMA.read_text()))
    assert card.integrity.lost[0].repeat == 0
