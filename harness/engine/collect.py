"""After a run: copy the system's traces, audit events, policies and system.yaml into
the run folder, so the folder alone can be re-scored.

Spans and audit events are read in any shape of docs/telemetry.md, normalised, and only
those inside the run's wall-clock window are written (the system's files are usually
appended to across runs). What was outside the window or could not be understood is
counted in ``telemetry.json`` and said on the console, never dropped silently.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from harness.jsontools import write_atomic
from harness.model.system import SystemSpec
from harness.runfolder import RunFolder
from harness.telemetry import intake as tin


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else base / p


def collect_telemetry(system: SystemSpec, run_dir: Path | RunFolder, *, start_wall: float, end_wall: float,
                      system_path: Path | None, say: Callable[[str], None] | None = None) -> dict[str, int]:
    """Copy traces/audit/policies/system.yaml into the run folder; return counts per kind.

    ``say`` (the run's console) hears how many spans and audit events were kept, how many
    lay outside the run and how many were ignored and why.
    """
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
    base = system_path.parent if system_path else None
    intake = tin.Intake(window=tin.widen(start_wall, end_wall))
    counts = {"spans": 0, "audit": 0, "policies": 0}
    if system.traces.jsonl:
        src = _resolve(system.traces.jsonl, base)
        spans = tin.read_spans([(src, system.traces.jsonl)], intake)
        tin.write_jsonl(folder.traces, spans)
        counts["spans"] = len(spans)
    if system.audit.jsonl:
        src = _resolve(system.audit.jsonl, base)
        audit = tin.read_audit([(src, system.audit.jsonl)], intake)
        tin.write_jsonl(folder.audit, audit)
        counts["audit"] = len(audit)
    report = intake.model()
    write_atomic(folder.telemetry, report.model_dump_json(indent=2) + "\n")
    if say is not None:
        for line in tin.intake_lines(report):
            say(line)
    policy_dir = folder.policies_dir
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
            shutil.copy2(src, folder.entities)
    # what the system declares for measuring, so the folder alone can be re-scored
    declarations = {"side_effects": [e.model_dump(exclude_none=True) for e in system.side_effects],
                    "policies": bool(system.policies.files)}
    folder.write_json(folder.declarations, declarations)
    if system_path and system_path.exists():
        shutil.copy2(system_path, folder.system_yaml)
    return counts
