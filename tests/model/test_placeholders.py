"""Body placeholders: ``{n}``, ``{uuid}`` and ``{run_id}`` are filled; any other ``{word}``
is a typo caught when the file loads, naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.jsontools import render_template, unknown_placeholders
from harness.model.loader import load_scenario, load_system
from harness.model.scenario import LoadProfile

SYSTEM = """name: trips
services:
  - {name: trips, kind: orchestrator, protocol: rest, external: true, base_url: "http://127.0.0.1:9", health_url: "http://127.0.0.1:9/health"}
workflow:
  submit_url: http://127.0.0.1:9/trips
  status_url: http://127.0.0.1:9/trips/{id}
  body:
    trip: "T-{n}-{run_id}"
    traveller: "{user}"
"""


def test_render_fills_every_placeholder_keys_included() -> None:
    body = {"id": "{run_id}/{n}", "{uuid}": ["x-{n}", 3]}
    assert render_template(body, 7, "abc", "20261203-r1") == {"id": "20261203-r1/7", "abc": ["x-7", 3]}


@given(st.text(alphabet="abcxyz_{}- ", max_size=30))
def test_no_unknown_placeholder_survives_as_unnoticed_literal(text: str) -> None:
    """After rendering, any ``{word}`` left in the text was reported as unknown."""
    import re

    left = set(re.findall(r"\{[A-Za-z_][A-Za-z0-9_]*\}", render_template(text, 1, "u", "r")))
    reported = {word for _, word in unknown_placeholders(text)}
    assert left <= reported


def test_unknown_placeholder_in_system_yaml_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "system.yaml"
    path.write_text(SYSTEM)
    with pytest.raises(ConfigError) as err:
        load_system(path)
    text = str(err.value)
    assert "system.yaml" in text and "workflow.body" in text and "{user}" in text and "{run_id}" in text
    path.write_text(SYSTEM.replace("{user}", "Ada"))
    assert load_system(path).workflow.body["trip"] == "T-{n}-{run_id}"


def test_unknown_placeholder_in_a_scenario_load_body(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("title: t\nload:\n  users: 1\n  body: {claim: \"{claimid}\"}\n")
    with pytest.raises(ConfigError, match=r"unknown placeholder \{claimid\}"):
        load_scenario(path)


def test_load_tasks_have_generic_names(tmp_path: Path) -> None:
    assert LoadProfile().tasks == {"submit": 3, "status": 1}
    path = tmp_path / "s.yaml"
    path.write_text("title: t\nload:\n  tasks: {submit: 1, poll: 1}\n")
    with pytest.raises(ConfigError, match=r"s\.yaml:3: field 'load\.tasks\.poll'"):
        load_scenario(path)
