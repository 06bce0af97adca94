"""RunFolder: the file names users rely on, the latest pointer, atomic writes and loading errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.model.scorecard import ContractResult
from harness.runfolder import RunFolder, read_scorecard
from tests.report.synth import write_run


def test_file_names_are_the_documented_ones(tmp_path: Path) -> None:
    """Scripts, CI jobs and docs/run-folder.md name these files: they must not change."""
    f = RunFolder(tmp_path / "r1")
    names = {p.relative_to(f.root).as_posix() for p in (
        f.journal, f.scorecard, f.report_html, f.summary_md, f.junit_xml, f.allure_results, f.allure_report,
        f.traces, f.traces_dir, f.audit, f.telemetry, f.policies_dir, f.entities, f.declarations, f.system_yaml,
        f.contracts, f.contracts_dir, f.meta, f.load_dir("kill-fraud", 2))}
    assert names == {"journal.jsonl", "scorecard.json", "report.html", "summary.md", "junit.xml", "allure-results",
                     "allure-report", "traces.jsonl", "traces", "audit.jsonl", "telemetry.json", "policies",
                     "policies/entities.json", "declarations.json", "system.yaml", "contracts.json", "contracts",
                     "meta.json", "load/kill-fraud-r2"}
    assert f.history == tmp_path / "history.jsonl"
    doc = (Path(__file__).parents[1] / "docs" / "run-folder.md").read_text()
    assert all(f"`{name.split('/')[0]}" in doc for name in names)


def test_create_refuses_an_existing_run_and_points_latest_at_the_newest(tmp_path: Path) -> None:
    first = RunFolder.create(tmp_path, "run-a")
    assert first.root.is_dir() and (tmp_path / "latest").resolve() == first.root.resolve()
    second = RunFolder.create(tmp_path, "run-b")
    assert (tmp_path / "latest").resolve() == second.root.resolve()
    assert RunFolder(tmp_path / "latest").run_id == "run-b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-a", "run-b"]  # no temp link left
    with pytest.raises(FileExistsError):
        RunFolder.create(tmp_path, "run-a")


def test_scorecard_roundtrip_is_atomic_and_byte_stable(tmp_path: Path) -> None:
    card = write_run(tmp_path / "r", run_id="r")
    folder = RunFolder.existing(tmp_path / "r")
    folder.write_scorecard(card)
    text = folder.scorecard.read_text()
    assert text == card.model_dump_json(indent=2) + "\n"
    assert folder.read_scorecard() == card == read_scorecard(folder.root)
    other = folder.write_scorecard(card, tmp_path / "elsewhere" / "card.json")
    assert other.read_text() == text
    assert sorted(p.name for p in folder.root.iterdir()) == ["journal.jsonl", "scorecard.json"]


def test_events_are_required_for_scoring_and_optional_for_reports(tmp_path: Path) -> None:
    write_run(tmp_path / "r", run_id="r")
    folder = RunFolder.existing(tmp_path / "r")
    events = folder.read_events()
    assert events and [e.seq for e in events] == sorted(e.seq for e in events)
    folder.journal.unlink()
    assert folder.read_events(required=False) == []
    with pytest.raises(ConfigError, match=r"no journal\.jsonl"):
        folder.read_events()
    folder.journal.write_text("")
    with pytest.raises(ConfigError, match="no valid events"):
        folder.read_events()


def test_missing_folder_and_bad_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run folder does not exist"):
        RunFolder.existing(tmp_path / "nope")
    folder = RunFolder.existing(tmp_path)
    assert (folder.read_contracts(), folder.read_intake(), folder.read_entities(), folder.read_policies(),
            folder.read_meta(), folder.read_side_effects()) == ([], None, None, {}, {}, [])
    folder.contracts.write_text("[{]")
    with pytest.raises(ConfigError, match=r"contracts\.json:1: not valid JSON"):
        folder.read_contracts()
    folder.contracts.write_text(json.dumps([{"suite": "openapi"}]))
    with pytest.raises(ConfigError, match=r"contracts\.json: field '0\.edge'"):
        folder.read_contracts()
    folder.declarations.write_text(json.dumps({"side_effects": [{"name": 3}]}))
    with pytest.raises(ConfigError, match=r"declarations\.json: field 'side_effects\.0\."):
        folder.read_side_effects()
    folder.meta.write_text("[]")
    with pytest.raises(ConfigError, match=r"meta\.json: expected a JSON object"):
        folder.read_meta()
    with pytest.raises(ConfigError, match=r"scorecard\.json not found"):
        folder.read_scorecard()


def test_reads_what_was_written(tmp_path: Path) -> None:
    folder = RunFolder.existing(tmp_path)
    result = ContractResult(suite="openapi", edge="intake", passed=3, failed=0)
    folder.write_json(folder.contracts, [result.model_dump(mode="json")])
    assert folder.read_contracts() == [result]
    folder.traces_dir.mkdir()
    for name in ("b.jsonl", "a.json", "notes.txt"):
        (folder.traces_dir / name).write_text("")
    folder.traces.write_text("")
    assert [name for _, name in folder.span_sources()] == ["traces.jsonl", "traces/a.json", "traces/b.jsonl"]
    folder.policies_dir.mkdir()
    (folder.policies_dir / "p.cedar").write_text("permit(principal, action, resource);")
    folder.write_json(folder.entities, [{"uid": {"type": "User", "id": "a"}}])
    assert folder.read_policies() == {"p.cedar": "permit(principal, action, resource);"}
    assert folder.read_entities() == [{"uid": {"type": "User", "id": "a"}}]
