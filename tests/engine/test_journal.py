"""The journal survives SIGKILL, is redacted, refuses what readers would not understand, and
reads back every event it wrote, in seq order."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from harness.engine.journal import JournalWriter
from harness.model.journal import (
    EVENT_MODELS,
    EVENT_TYPES,
    EventError,
    FaultInjectedEvent,
    ProbeEvent,
    kind_fields,
    parse_journal,
    parse_journal_lines,
)
from harness.redact import REDACTED


def test_events_roundtrip_with_context_and_redaction(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "j.jsonl") as journal:
        journal.set_context(scenario="s1", repeat=0)
        journal.emit("scenario_start", title="t")
        journal.set_context(phase="inject")
        journal.emit("fault_injected", fault_id="f0", type="latency", target="risk",
                     params={"headers": {"Authorization": "Bearer abc", "X-Other": "fine"}, "api_key": "k"})
        journal.set_context(phase=None)
        journal.emit("scenario_end", aborted=False)
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert "Bearer abc" not in "".join(lines) and '"k"' not in "".join(lines)
    random.Random(1).shuffle(lines)
    events = parse_journal_lines(lines)
    assert [e.kind for e in events] == ["scenario_start", "fault_injected", "scenario_end"]
    assert events[1].phase == "inject" and events[1].scenario == "s1"
    injected = events[1]
    assert isinstance(injected, FaultInjectedEvent)
    assert injected.params["headers"] == {"Authorization": REDACTED, "X-Other": "fine"}
    assert events[2].phase is None
    assert all(e.t_mono > 0 and e.t_wall > 1e9 for e in events)


def test_journal_of_a_sigkilled_writer_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from harness.engine.journal import JournalWriter
        j = JournalWriter(Path({str(path)!r}))
        i = 0
        while True:
            j.emit("probe", probe="p", ok=i % 2 == 0, latency_ms=1.0, detail="x" * 200)
            i += 1
            if i == 50:
                print("ready", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    raw = path.read_bytes()
    # simulate a torn last line, as a kill in the middle of a write could leave
    path.write_bytes(raw + b'{"seq": 999999, "kind": "pro')
    parsed = parse_journal(path.read_text().splitlines())
    assert len(parsed.events) >= 50 and parsed.torn_last_line and parsed.problems == []
    assert [e.seq for e in parsed.events] == list(range(len(parsed.events)))
    assert parse_journal_lines(path.read_text().splitlines()) == parsed.events  # torn: not an error


def test_a_misspelt_field_or_kind_fails_at_the_write_site(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "j.jsonl", fsync=False) as journal:
        with pytest.raises(EventError, match=r"probe: unknown field\(s\) latncy_ms"):
            journal.emit("probe", probe="p", ok=True, latncy_ms=3.0)
        with pytest.raises(EventError, match=r"unknown journal event kind 'prob'"):
            journal.emit("prob", probe="p", ok=True)
        with pytest.raises(EventError, match=r"fault_reverted: field 'ok'"):
            journal.emit("fault_reverted", fault_id="f", ok="maybe")
        with pytest.raises(EventError, match=r"probe: field 'probe': Field required"):
            journal.emit("probe", ok=True)
        journal.emit("probe", probe="p", ok=True, latency_ms=3.0)
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert len(lines) == 1  # nothing half-written by the refused events, and seq not spent on them
    assert parse_journal_lines(lines)[0].seq == 0


def test_undecodable_bytes_in_a_text_are_written_readably(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "j.jsonl", fsync=False) as journal:
        written = journal.emit("probe", probe="cmd", ok=False, detail="no such file: caf\udce9")
    [event] = parse_journal_lines((tmp_path / "j.jsonl").read_text().splitlines())
    assert isinstance(event, ProbeEvent) and event.detail == "no such file: caf?" and event == written


# -- any event the writer accepts reads back as itself ---------------------------------

SECRET_LOOKING = ("authorization", "cookie", "key", "token", "secret", "password", "passwd")
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
names = st.from_regex(r"[a-z][a-z_.]{0,11}", fullmatch=True).filter(
    lambda k: not any(word in k for word in SECRET_LOOKING))  # redacted values would change type
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | finite | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
                           max_leaves=8)


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type, as a caller of ``emit`` would pass them."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is Any:
        return json_values
    if origin in (Union, UnionType):
        return st.one_of(*(strategy_for(a) for a in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(strategy_for(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(names, strategy_for(args[1]), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return st.fixed_dictionaries({}, optional={n: strategy_for(f.annotation)
                                                   for n, f in annotation.model_fields.items()})
    return {type(None): st.none(), bool: st.booleans(), int: st.integers(-2**53, 2**53), float: finite,
            str: texts}[annotation]


@st.composite
def emitted(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    model = draw(st.sampled_from(EVENT_TYPES))
    fields: dict[str, Any] = {}
    for name in kind_fields(model):
        info = model.model_fields[name]
        if info.is_required() or draw(st.booleans()):
            fields[name] = draw(strategy_for(info.annotation))
    for name in ("scenario", "phase"):
        if draw(st.booleans()):
            fields[name] = draw(names)
    if draw(st.booleans()):
        fields["t_mono"] = draw(finite)
    return model.model_fields["kind"].annotation.__args__[0], fields


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(emitted(), min_size=1, max_size=8), order=st.randoms())
def test_every_written_event_reads_back_as_written(tmp_path: Path, batch: list[tuple[str, dict[str, Any]]],
                                                    order: random.Random) -> None:
    path = tmp_path / f"j-{uuid.uuid4().hex}.jsonl"
    with JournalWriter(path, fsync=False) as journal:
        written = [journal.emit(kind, **fields) for kind, fields in batch]
    lines = path.read_text().splitlines()
    order.shuffle(lines)
    parsed = parse_journal(lines)
    assert parsed.problems == [] and not parsed.torn_last_line
    assert parsed.events == written
    assert [type(e) for e in parsed.events] == [EVENT_MODELS[kind] for kind, _ in batch]
