"""After a run: copy the system's traces, audit events, policies and system.yaml into
the run folder, trimmed to the run window, so the folder alone can be re-scored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from harness.model.system import SystemSpec

SLACK_S = 2.0  # spans end after the run window opened/closed; keep a little either side


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else base / p


def _copy_window(src: Path, dst: Path, start_wall: float, end_wall: float, time_of: callable) -> int:
    """Copy JSON lines whose timestamp lies in the window; return how many."""
    if not src.exists():
        return 0
    kept = 0
    with src.open(encoding="utf-8", errors="replace") as fin, dst.open("w", encoding="utf-8") as fout:
        for line in fin:
            try:
                record = json.loads(line)
                ts = time_of(record)
            except (ValueError, TypeError, KeyError):
                continue
            if ts is None or start_wall - SLACK_S <= ts <= end_wall + SLACK_S:
                fout.write(line if line.endswith("\n") else line + "\n")
                kept += 1
    return kept


def _span_time(record: dict) -> float | None:
    start_ns = record.get("start_ns")
    return start_ns / 1e9 if isinstance(start_ns, int | float) else None


def _audit_time(record: dict) -> float | None:
    ts = record.get("ts")
    return float(ts) if isinstance(ts, int | float) else None


def collect_telemetry(system: SystemSpec, run_dir: Path, *, start_wall: float, end_wall: float,
                      system_path: Path | None) -> dict[str, int]:
    """Copy traces/audit/policies/system.yaml into ``run_dir``; return counts per kind."""
    base = system_path.parent if system_path else None
    counts = {"spans": 0, "audit": 0, "policies": 0}
    if system.traces.jsonl:
        counts["spans"] = _copy_window(_resolve(system.traces.jsonl, base), run_dir / "traces.jsonl",
                                       start_wall, end_wall, _span_time)
    if system.audit.jsonl:
        counts["audit"] = _copy_window(_resolve(system.audit.jsonl, base), run_dir / "audit.jsonl",
                                       start_wall, end_wall, _audit_time)
    policy_dir = run_dir / "policies"
    for policy in system.policies.files:
        src = _resolve(policy, base)
        if src.exists():
            policy_dir.mkdir(exist_ok=True)
            shutil.copy2(src, policy_dir / src.name)
            counts["policies"] += 1
    if system.policies.entities:
        src = _resolve(system.policies.entities, base)
        if src.exists():
            policy_dir.mkdir(exist_ok=True)
            shutil.copy2(src, policy_dir / "entities.json")
    # what the system declares for measuring, so the folder alone can be re-scored
    declarations = {"side_effects": [e.model_dump(exclude_none=True) for e in system.side_effects],
                    "policies": bool(system.policies.files)}
    (run_dir / "declarations.json").write_text(json.dumps(declarations, indent=2) + "\n", encoding="utf-8")
    if system_path and system_path.exists():
        shutil.copy2(system_path, run_dir / "system.yaml")
    return counts
