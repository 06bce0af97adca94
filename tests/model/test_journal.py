"""Reading the journal: typed events, problems named by line, old journals, schema and docs in step."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from harness.errors import ConfigError
from harness.model import SCHEMAS
from harness.model.journal import (
    EVENT_MODELS,
    EVENT_TYPES,
    Event,
    FaultInjectedEvent,
    JournalLine,
    JournalProblem,
    LoadSampleEvent,
    NoteEvent,
    RunStartEvent,
    WorkflowFailedEvent,
    kind_fields,
    parse_journal,
    parse_journal_lines,
)
from harness.scoring import RunData, score_run

ROOT = Path(__file__).resolve().parents[2]
OLD_JOURNAL = Path(__file__).parent / "data" / "journal-e545106.jsonl"
"""Written by the journal writer of commit e545106 (untyped ``emit(kind, **fields)``)."""

PROBE = '{"seq":%d,"kind":"probe","t_mono":1.0,"t_wall":2.0,"probe":"api","ok":true}'


def test_every_kind_has_one_model_and_the_union_covers_them() -> None:
    assert list(EVENT_MODELS) == list(Event.model_fields["kind"].annotation.__args__)
    assert {d for d in JournalLine.model_json_schema()["$defs"] if d.endswith("Event")} == \
        {cls.__name__ for cls in EVENT_TYPES}


def test_problem_lines_are_reported_with_their_number_not_dropped() -> None:
    lines = [PROBE % 0, "", '{"seq":1,"kind":"probe_v2","t_mono":1,"t_wall":2}', PROBE % 2,
             '{"seq":3,"kind":"probe","t_mono":1,"t_wall":2,"probe":"api","ok":"perhaps"}',
             "not json at all", '{"seq":4,"t_mono":1,"t_wall":2}', "[1, 2]", PROBE % 5]
    parsed = parse_journal(lines)
    assert [e.seq for e in parsed.events] == [0, 2, 5]
    assert [str(p) for p in parsed.problems] == [
        "line 3: unknown event kind 'probe_v2'",
        "line 5: probe: field 'ok': Input should be a valid boolean, unable to interpret input",
        "line 6: not JSON (expected ident at line 1 column 2)",
        "line 7: no 'kind' field",
        "line 8: not a JSON object",
    ]
    assert not parsed.torn_last_line
    with pytest.raises(ConfigError, match=r"^run/journal.jsonl:3: unknown event kind 'probe_v2'$"):
        parse_journal_lines(lines, source="run/journal.jsonl")


def test_only_the_last_line_may_be_torn() -> None:
    torn = '{"seq":9,"kind":"pro'
    parsed = parse_journal([PROBE % 0, torn, ""])
    assert parsed.torn_last_line and parsed.problems == [] and len(parsed.events) == 1
    parsed = parse_journal([torn, PROBE % 0])  # cut short in the middle: not a kill, a problem
    assert not parsed.torn_last_line and parsed.problems == [JournalProblem(1, parsed.problems[0].reason)]


def test_a_journal_of_the_untyped_writer_still_parses_and_scores() -> None:
    parsed = parse_journal(OLD_JOURNAL.read_text().splitlines())
    assert parsed.problems == [] and len(parsed.events) == 28
    start = parsed.events[0]
    assert isinstance(start, RunStartEvent) and start.overrides is not None
    assert start.overrides.environment == "staging" and start.git_sha is None
    sample = next(e for e in parsed.events if isinstance(e, LoadSampleEvent))
    assert (sample.status, sample.latency_ms, sample.workflow_id, sample.phase) == (202, 412.5, "wf-1", "inject")
    failed = next(e for e in parsed.events if isinstance(e, WorkflowFailedEvent))
    assert failed.model_extra == {"error": "boom"}  # a field the models no longer declare is kept
    plugin = [e for e in parsed.events if isinstance(e, FaultInjectedEvent)][-1]
    assert plugin.target is None and plugin.scenario is None
    [note] = [e for e in parsed.events if isinstance(e, NoteEvent)]
    assert note.fault_id == "x" and note.author == "harness"
    card = score_run(RunData(run_id="old", events=parsed.events))
    assert card.journal.events == 28 and card.journal.problems == 0 and card.journal.warning is None
    assert card.run.run_id == "20261127-150000-1a2b3c" and card.integrity.submitted == 2
    assert card.integrity.completed == 1 and card.integrity.failed == 1
    [fault] = card.scenarios[0].repeats[0].faults
    assert fault.target == "risk" and fault.impact and fault.mttd_s == pytest.approx(0.0)


def test_every_line_of_a_journal_validates_against_the_published_schema() -> None:
    schema = json.loads((ROOT / "schemas" / "journal.schema.json").read_text())
    for line in OLD_JOURNAL.read_text().splitlines():
        jsonschema.validate(json.loads(line), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"seq": 1, "kind": "probe_v2", "t_mono": 1.0, "t_wall": 1.0}, schema)


def test_published_journal_schema_is_up_to_date() -> None:
    assert SCHEMAS["journal"] is JournalLine
    published = json.loads((ROOT / "schemas" / "journal.schema.json").read_text())
    published.pop("$schema", None)
    published.pop("$id", None)
    assert published == JournalLine.model_json_schema(by_alias=True), \
        "run `harness schema` and commit schemas/journal.schema.json"


def doc_row(model: type[Event]) -> str:
    """The row docs/journal.md must have for a kind: fields (``*`` = required) and when."""
    kind = model.model_fields["kind"].annotation.__args__[0]
    fields = ", ".join(f"{name}{'*' if model.model_fields[name].is_required() else ''}"
                       for name in kind_fields(model))
    return f"| `{kind}` | `{model.__name__}` | {fields or '-'} | {model.written_when} |"


def test_every_kind_is_documented_as_the_model_says() -> None:
    doc = (ROOT / "docs" / "journal.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \| `\w+Event` \|.*\|$", doc, re.M)}
    expected = {kind: doc_row(model) for kind, model in EVENT_MODELS.items()}
    assert rows == expected, "docs/journal.md rows should read:\n" + "\n".join(expected.values())
