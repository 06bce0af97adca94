"""Seeded defects caught end to end: a real run on a defective sandbox, scored from its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.engine.run import RunOptions, execute_run
from harness.sandbox import Sandbox
from tests.engine.conftest import target_of, write_scenario

pytestmark = pytest.mark.slow

TRUNCATED_PAYOUT = """
title: payout answers are cut in half
phases: {baseline: 1s, inject: 3s, recover: 2s}
stable_for: 500ms
steady_state:
  - {type: http, name: health, service: orchestrator, path: /healthz, interval_s: 250ms}
load: {users: 2, spawn_rate: 2, think_time_s: [0.2, 0.3]}
faults:
  - {type: json_truncate, target: {edge: payout}, params: {tool: issue_payout, fraction: 0.5}}
"""


@pytest.mark.parametrize("defects, duplicated", [((), False), (("duplicate_payout",), True)])
def test_duplicate_payouts_are_found_in_a_real_run(tmp_path: Path, defects: tuple[str, ...],
                                                   duplicated: bool) -> None:
    scenario = write_scenario(tmp_path, "truncated", TRUNCATED_PAYOUT)
    with Sandbox(tmp_path / "sandbox", defects=defects) as box:
        result = execute_run(RunOptions(target=target_of(box), scenarios=[scenario], out_root=tmp_path / "reports",
                                        settle_s=15, ledger_path=tmp_path / "ledger.jsonl", seed=3))
    card = json.loads((result.run_dir / "scorecard.json").read_text())
    dupes = card["integrity"]["duplicated"]
    if duplicated:
        # the retried payout carried a fresh idempotency key, so the same claim was paid twice
        assert dupes, card["integrity"]
        assert card["scenarios"][0]["score"] == 0 and card["verdict"] == "fail"
    else:
        assert dupes == [] and card["integrity"]["lost"] == []
