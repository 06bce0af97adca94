"""Append-only, crash-safe journal writer.

Each event is one JSON line, written with a single ``write`` of the whole line,
flushed and fsync'd before ``emit`` returns. A run killed with SIGKILL therefore
leaves a journal whose every complete line is valid; the reader
(``harness.model.journal.parse_journal``) tolerates a torn last line. Every event is
validated into its kind's model before it is written, so a writer cannot journal what
the readers would not understand.

The writer is thread-safe: probes, the load sample reader and the phase loop all
emit from their own threads. Context (scenario, repeat, phase) is set by the engine
and stamped on every event so readers never need to reconstruct it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic_core import PydanticSerializationError

from harness.model.journal import Event, build_event, without_surrogates
from harness.redact import redact


class JournalWriter:
    """Write ``journal.jsonl`` for one run."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._fsync = fsync
        self._lock = threading.Lock()
        self._seq = 0
        self.context: dict[str, Any] = {}
        self.closed = False

    def set_context(self, **context: Any) -> None:
        """Set (or with None, clear) context fields stamped on every following event."""
        with self._lock:
            for key, value in context.items():
                if value is None:
                    self.context.pop(key, None)
                else:
                    self.context[key] = value

    def emit(self, kind: str, *, t_mono: float | None = None, t_wall: float | None = None,
             **fields: Any) -> Event | None:
        """Append one event of ``kind`` (its model in ``harness.model.journal``) and return it;
        ``None`` once closed. ``t_mono``/``t_wall`` default to now. An unknown kind or field,
        or a value of the wrong type, raises ``EventError`` here rather than writing a line
        that scoring would not understand."""
        now_mono, now_wall = time.monotonic(), time.time()
        with self._lock:
            if self.closed:
                return None
            data: dict[str, Any] = {**self.context, **redact(fields)}
            data.update(seq=self._seq, kind=kind,
                        t_mono=now_mono if t_mono is None else t_mono,
                        t_wall=now_wall if t_wall is None else t_wall)
            event = build_event(data)
            try:
                line = event.to_json()
            except PydanticSerializationError:  # a lone surrogate in a text: JSON cannot carry it
                event = build_event(without_surrogates(data))
                line = event.to_json()
            os.write(self._fd, (line + "\n").encode())
            if self._fsync:
                os.fsync(self._fd)
            self._seq += 1
        return event

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                os.close(self._fd)

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
