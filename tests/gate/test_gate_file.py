"""gate.yaml validation: every mistake is one line naming file:line:field."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.gate import load_gate

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_gate_loads() -> None:
    gate = load_gate(ROOT / "gate.yaml")
    assert [r.figure for r in gate.rules][:3] == ["resilience_score", "mttr.p95", "policy.adherence"]
    assert {r.figure for r in gate.regressions} == {"mttr.p95", "resilience_score"}


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  - resilience_score >= 80\n  - mttr.p59 <= 5\n",
     ":3: field 'rules[1].figure': 'mttr.p59': no field 'p59'"),
    ("rules:\n  - figure: mttr.p95\n    op: '=>'\n    value: 5\n", ":3: field 'rules[0].op'"),
    ("rules:\n  - figure: mttr.p95\n    op: '<='\n    value: 5\n    alow_missing: true\n",
     ":5: field 'rules[0].alow_missing': unknown field"),
    ("rules:\n  - resilience_score is high\n", ":2: field 'rules[0]': cannot read rule"),
    ("rules:\n  - verdict >= pass\n", ":2: field 'rules[0]': operator >= needs a number"),
    ("regressions:\n  - figure: mttr.p95\n    max_increase_pct: 20\n    max_decrease: 1\n",
     ":2: field 'regressions[0]': a regression rule needs exactly one"),
    ("regressions:\n  - figure: mttr.p95\n    max_increase_pct: -1\n", ":3: field 'regressions[0].max_increase_pct'"),
    ("version: 2\nrules: ['resilience_score >= 1']\n", ":1: field 'version'"),
    ("rules: []\n", "at least one entry"),
    ("rules:\n  - mttr == 1\n", ":2: field 'rules[0].figure': 'mttr' is an object, not a value; name one of"),
    ("rules:\n  - verdict == passed\n", ":2: field 'rules[0]': verdict is one of pass, fail, aborted, never 'passed'"),
    ("rules:\n  - resilience_score == high\n", ":2: field 'rules[0]': resilience_score is a number"),
    ("rules:\n  - scenarios.title == x\n", "text values cannot be counted or combined"),
    ("rules:\n  - figure: mttr.p95\n    op: '<='\n    value: 5\n    required: true\n    allow_missing: true\n",
     ":2: field 'rules[0]': required: true and allow_missing: true contradict each other"),
    ("regressions:\n  - figure: verdict\n    max_decrease: 1\n",
     ":2: field 'regressions[0]': a regression compares numbers; verdict is not one"),
    ("rules:\n  - a >= 1\n  bad: [\n", "invalid YAML"),
    ("", "the file is empty"),
])
def test_bad_gate_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_gate(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_gate(tmp_path / "nope.yaml")
