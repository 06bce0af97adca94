"""Read a run folder into ``RunData`` and write ``scorecard.json``.

Layout (``reports/<run-id>/``): ``journal.jsonl`` (required), ``traces.jsonl`` and/or
``traces/*.json`` / ``traces/*.jsonl`` (any shape of docs/telemetry.md), ``audit.jsonl``,
``policies/*.cedar`` and optional ``policies/entities.json``, ``contracts.json``, ``meta.json``,
``declarations.json`` (what system.yaml declares for measuring: side effects, whether it has
policies), ``telemetry.json`` (what collection read and ignored). Missing optional files mean
"not measured"; malformed configuration is a ``ConfigError`` naming file, line and field.
Spans and audit events are data a system wrote, so a record that cannot be understood is
counted and reported in the scorecard's ``telemetry`` section instead (``intake``), and only
the records inside the journal's run window are scored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.errors import ConfigError
from harness.model.journal import parse_journal
from harness.model.scorecard import ContractResult, Scorecard, TelemetryIntake
from harness.model.system import SideEffect
from harness.scoring.data import AuditEvent, RunData, Span
from harness.telemetry import intake as tin

SCORECARD_FILE = "scorecard.json"
DECLARATIONS_FILE = "declarations.json"


def load_run(run_dir: str | os.PathLike[str]) -> RunData:
    """Parse a run folder. Only ``journal.jsonl`` is required."""
    root = Path(run_dir)
    if not root.is_dir():
        raise ConfigError("run folder does not exist or is not a directory", path=str(root))
    journal = root / "journal.jsonl"
    if not journal.is_file():
        raise ConfigError("no journal.jsonl in the run folder", path=str(root))
    parsed = parse_journal(journal.read_text(encoding="utf-8", errors="replace").splitlines())
    events = parsed.events
    if not events:
        raise ConfigError("journal has no valid events", path=str(journal))
    declared = _read_json_object(root / DECLARATIONS_FILE)
    spans, audit, telemetry = read_telemetry(root, tin.run_window(events))
    return RunData(
        run_id=root.resolve().name,
        events=events,
        journal_problems=parsed.problems,
        journal_torn=parsed.torn_last_line,
        spans=spans,
        audit=audit,
        telemetry=telemetry,
        policies=read_policies(root / "policies"),
        entities=read_entities(root / "policies" / "entities.json"),
        contracts=read_contracts(root / "contracts.json"),
        meta=_read_json_object(root / "meta.json"),
        side_effects=read_side_effects(root / DECLARATIONS_FILE, declared),
        policies_declared=bool(declared.get("policies")),
    )


def read_side_effects(path: Path, declared: dict[str, Any]) -> list[SideEffect]:
    return _validate(list[SideEffect], declared.get("side_effects", []), path, prefix="side_effects.")


def read_telemetry(root: Path, window: tin.Window | None) -> tuple[list[Span], list[AuditEvent], TelemetryIntake]:
    """Spans (``traces.jsonl`` then ``traces/*.json(l)``; a span two sources hold is kept once,
    as a Collector and the JSONL exporter may both have written it) and audit events inside
    ``window``, with the intake that says what was left out (collection's, if it left one)."""
    intake = tin.Intake(window=window)
    sources = [(root / "traces.jsonl", "traces.jsonl")] if (root / "traces.jsonl").is_file() else []
    folder = root / "traces"
    if folder.is_dir():
        sources += [(p, f"traces/{p.name}") for p in sorted(folder.iterdir()) if p.suffix in (".json", ".jsonl")]
    spans = tin.read_spans(sources, intake)
    audit_path = root / "audit.jsonl"
    audit = tin.read_audit([(audit_path, "audit.jsonl")] if audit_path.is_file() else [], intake)
    collected = None
    if (root / tin.INTAKE_FILE).is_file():
        collected = _validate(TelemetryIntake, _load_json(root / tin.INTAKE_FILE), root / tin.INTAKE_FILE)
    return spans, audit, tin.merge(collected, intake.model())


def _validate(kind: Any, data: Any, path: Path, *, prefix: str = "") -> Any:
    """``data`` as ``kind`` (a model or a type), or a ``ConfigError`` naming the file and the
    first bad field."""
    try:
        return TypeAdapter(kind).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(err["msg"], path=str(path), field=prefix + ".".join(str(p) for p in err["loc"])) from None


def read_policies(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.cedar"))}


def read_entities(path: Path) -> list[dict[str, Any]] | None:
    if not path.is_file():
        return None
    data = _load_json(path)
    if not isinstance(data, list):
        raise ConfigError("expected a JSON list of Cedar entities", path=str(path))
    return data


def read_contracts(path: Path) -> list[ContractResult]:
    if not path.is_file():
        return []
    data = _load_json(path)
    return _validate(list[ContractResult], data, path)


def write_scorecard(card: Scorecard, path: str | os.PathLike[str]) -> Path:
    """Write ``scorecard.json`` atomically (tmp file + rename), so a reader never sees half."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def _read_json_object(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = _load_json(path)
    if not isinstance(data, dict):
        raise ConfigError("expected a JSON object", path=str(path))
    return data


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
