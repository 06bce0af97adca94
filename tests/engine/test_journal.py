"""The journal survives SIGKILL, is redacted, and reads back in seq order."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from harness.engine.journal import JournalWriter
from harness.model.journal import parse_journal_lines
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
    assert events[1].get("params")["headers"] == {"Authorization": REDACTED, "X-Other": "fine"}
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
    events = parse_journal_lines(path.read_text().splitlines())
    assert len(events) >= 50
    assert [e.seq for e in events] == list(range(len(events)))
