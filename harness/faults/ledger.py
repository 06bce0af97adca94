"""The cleanup ledger: nothing a run injected is left broken, even after SIGKILL.

``CleanupLedger`` is an append-only JSONL file, fsync'd per line, that lists every
fault *before* it is injected and again when it is reverted. A run killed with
SIGKILL leaves its outstanding faults there; ``cleanup()`` (``harness cleanup``)
rebuilds them through the fault catalog and reverts them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.faults.base import Fault
from harness.faults.catalog import fault_from_ledger
from harness.faults.process import ManualActionRequired

__all__ = ["DEFAULT_LEDGER", "CleanupLedger", "CleanupReport", "CleanupRow", "cleanup", "revert_from_ledger"]

DEFAULT_LEDGER = Path(".harness/ledger.jsonl")


def _starttime(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class CleanupLedger:
    """Append-only JSONL record of injected and reverted faults.

    Each line is written with one ``write()`` on an ``O_APPEND`` descriptor and
    fsync'd before the call returns, so a line that ``record_injecting`` returned from
    survives a SIGKILL or a power cut, and concurrent writers never interleave lines.
    Lines carry the writer's pid and start time so cleanup can tell a dead run from a
    live one.
    """

    def __init__(self, path: Path | str = DEFAULT_LEDGER) -> None:
        self.path = Path(path)
        self._owner = {"owner_pid": os.getpid(), "owner_start": _starttime(os.getpid())}

    def _append(self, record: dict[str, Any]) -> None:
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:  # make the new directory entry durable too
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def record_injecting(self, fault: Fault) -> dict[str, Any]:
        """Record ``fault`` as about to be injected. Call BEFORE ``fault.inject()``."""
        record = {"event": "injecting", "fault_id": fault.fault_id, "ts": time.time(),
                  "entry": fault.ledger_entry(), **self._owner}
        self._append(record)
        return record

    def record_reverted(self, fault_id: str, *, outcome: str = "reverted", by: str = "run") -> None:
        self._append({"event": "reverted", "fault_id": fault_id, "ts": time.time(),
                      "outcome": outcome, "by": by, **self._owner})

    def records(self) -> Iterator[dict[str, Any]]:
        """Every well-formed line; a torn last line (crash mid-write) is skipped."""
        if not self.path.exists():
            return
        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read the cleanup ledger: {exc.strerror or exc}",
                              path=str(self.path)) from exc
        with fh:
            for raw in fh:
                try:
                    record = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if (isinstance(record, dict) and isinstance(record.get("fault_id"), str)
                        and record.get("event") in ("injecting", "reverted")
                        and isinstance(record.get("entry", {}), dict)):
                    yield record

    def outstanding(self) -> list[dict[str, Any]]:
        """``injecting`` records with no later ``reverted`` record, oldest first."""
        open_: dict[str, dict[str, Any]] = {}
        for record in self.records():
            if record.get("event") == "injecting":
                open_.pop(record["fault_id"], None)  # re-injected: it now dates from this record
                open_[record["fault_id"]] = record
            elif record.get("event") == "reverted":
                open_.pop(record["fault_id"], None)
        return list(open_.values())


def _owner_alive(record: dict[str, Any]) -> bool:
    pid = record.get("owner_pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False  # our own leftovers are ours to clean
    start = _starttime(pid)
    return start is not None and start == record.get("owner_start")


def revert_from_ledger(entry: dict[str, Any], *, supervisor: Any = None) -> None:
    """Rebuild the fault an entry describes and revert it (idempotent).

    Raises ``FaultError`` when reverting failed, ``ManualActionRequired`` when only a
    person can undo it (e.g. a supervised service killed by a run that is gone).
    """
    fault_from_ledger(entry, supervisor=supervisor).revert()


@dataclass
class CleanupRow:
    fault_id: str
    type: str
    target: str
    outcome: str  # reverted | manual | failed | skipped
    detail: str = ""


@dataclass
class CleanupReport:
    rows: list[CleanupRow] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Everything outstanding was reverted (nothing failed, skipped or left for a person)."""
        return all(row.outcome == "reverted" for row in self.rows)


def _target(entry: dict[str, Any]) -> str:
    if "proxy" in entry:
        return f"proxy {entry['proxy']} @ {entry.get('api_url', '?')}"
    if "service" in entry:
        pid = f" (pid {entry['pid']})" if entry.get("pid") else ""
        return f"service {entry['service']}{pid}"
    return "?"


def cleanup(ledger_path: Path | str = DEFAULT_LEDGER, *, supervisor: Any = None,
            force: bool = False) -> CleanupReport:
    """Revert every outstanding fault in the ledger and mark it reverted.

    Entries whose injecting process is still alive belong to a live run and are
    skipped unless ``force``. Running it again is a no-op. Faults that only a person
    can undo are marked (outcome ``manual``) so the report says what to do once.
    """
    ledger = CleanupLedger(ledger_path)
    report = CleanupReport()
    for record in ledger.outstanding():
        entry = record.get("entry") or {}
        row = CleanupRow(record["fault_id"], str(entry.get("type", "?")), _target(entry), "reverted")
        if not force and _owner_alive(record):
            row.outcome = "skipped"
            row.detail = f"run pid {record['owner_pid']} is still alive (use --force)"
        else:
            try:
                revert_from_ledger(entry, supervisor=supervisor)
            except ManualActionRequired as exc:
                row.outcome, row.detail = "manual", str(exc)
                ledger.record_reverted(row.fault_id, outcome="manual", by="cleanup")
            except Exception as exc:  # one bad entry must not stop the others from being reverted
                row.outcome, row.detail = "failed", str(exc) or type(exc).__name__
            else:
                ledger.record_reverted(row.fault_id, outcome="reverted", by="cleanup")
        report.rows.append(row)
    return report
