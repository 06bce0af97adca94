"""``RunFolder``: the one owner of a run's files, ``<out_root>/<run-id>/``.

Every file name of a run folder is spelled here once; the engine writes through it, and
scoring, reports, the CLI and the pytest plugin read through it, so a layout change is one
edit. Layout (docs/run-folder.md says what each file holds and who writes it):

- ``journal.jsonl``: the append-only event log (the one file a run must have);
- ``scorecard.json``, ``report.html``, ``summary.md``, ``junit.xml``, ``allure-results/``;
- ``traces.jsonl`` and/or ``traces/*.json(l)``, ``audit.jsonl``, ``telemetry.json`` (what
  collection read and ignored), ``policies/*.cedar`` and ``policies/entities.json``,
  ``declarations.json`` (what system.yaml declares for measuring), ``system.yaml``;
- ``contracts.json`` and ``contracts/`` (contract results and their evidence), ``meta.json``;
- ``load/<scenario>-r<repeat>/`` (Locust logs and the redacted load config).

Beside the run folders, ``<out_root>/latest`` points at the newest one and
``<out_root>/history.jsonl`` collects one line per scored run.

Writes are atomic (``harness.jsontools.write_atomic``): a reader sees the old file or the new
one. Reads turn a missing folder, bad JSON or an invalid model into a ``ConfigError`` naming
the file (and line or field), exit code 2. Missing optional files mean "not measured".
This module imports only the standard library, pydantic models and the top-level helpers, so
every layer may use it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.errors import ConfigError
from harness.jsontools import write_atomic
from harness.model.journal import Event, ParsedJournal, parse_journal
from harness.model.scorecard import ContractResult, Scorecard, TelemetryIntake
from harness.model.system import SideEffect

__all__ = ["RunFolder", "read_scorecard", "validate"]

JOURNAL = "journal.jsonl"
SCORECARD = "scorecard.json"
REPORT_HTML = "report.html"
SUMMARY_MD = "summary.md"
JUNIT_XML = "junit.xml"
ALLURE_RESULTS = "allure-results"
ALLURE_REPORT = "allure-report"
TRACES_JSONL = "traces.jsonl"
TRACES_DIR = "traces"
AUDIT_JSONL = "audit.jsonl"
TELEMETRY_JSON = "telemetry.json"
POLICIES_DIR = "policies"
ENTITIES_JSON = "entities.json"
DECLARATIONS_JSON = "declarations.json"
SYSTEM_YAML = "system.yaml"
CONTRACTS_JSON = "contracts.json"
CONTRACTS_DIR = "contracts"
META_JSON = "meta.json"
LOAD_DIR = "load"
LATEST = "latest"
HISTORY = "history.jsonl"


class RunFolder:
    """The paths, writes and reads of one run folder. Cheap to make: nothing is touched
    until a method reads or writes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.root)!r})"

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(cls, out_root: Path, run_id: str) -> RunFolder:
        """Make ``<out_root>/<run_id>/`` (it must not exist yet) and point ``latest`` at it."""
        folder = cls(Path(out_root) / run_id)
        folder.root.mkdir(parents=True, exist_ok=False)
        folder.point_latest()
        return folder

    @classmethod
    def existing(cls, root: str | os.PathLike[str]) -> RunFolder:
        """A run folder that must exist (``ConfigError`` otherwise)."""
        folder = cls(root)
        if not folder.root.is_dir():
            raise ConfigError("run folder does not exist or is not a directory", path=str(folder.root))
        return folder

    @property
    def run_id(self) -> str:
        """The folder's name (resolved, so ``reports/latest`` names the run it points at)."""
        return self.root.resolve().name

    def point_latest(self) -> None:
        """``<out_root>/latest`` -> this folder (replaced atomically), for scripts and people."""
        link, tmp = self.root.parent / LATEST, self.root.parent / f".{LATEST}-{self.root.name}"
        try:
            tmp.symlink_to(self.root.name, target_is_directory=True)
            os.replace(tmp, link)
        except OSError:  # a filesystem without symlinks: nothing depends on the link
            tmp.unlink(missing_ok=True)

    # -- paths ---------------------------------------------------------------------------
    @property
    def journal(self) -> Path:
        return self.root / JOURNAL

    @property
    def scorecard(self) -> Path:
        return self.root / SCORECARD

    @property
    def report_html(self) -> Path:
        return self.root / REPORT_HTML

    @property
    def summary_md(self) -> Path:
        return self.root / SUMMARY_MD

    @property
    def junit_xml(self) -> Path:
        return self.root / JUNIT_XML

    @property
    def allure_results(self) -> Path:
        return self.root / ALLURE_RESULTS

    @property
    def allure_report(self) -> Path:
        return self.root / ALLURE_REPORT

    @property
    def traces(self) -> Path:
        return self.root / TRACES_JSONL

    @property
    def traces_dir(self) -> Path:
        return self.root / TRACES_DIR

    @property
    def audit(self) -> Path:
        return self.root / AUDIT_JSONL

    @property
    def telemetry(self) -> Path:
        return self.root / TELEMETRY_JSON

    @property
    def policies_dir(self) -> Path:
        return self.root / POLICIES_DIR

    @property
    def entities(self) -> Path:
        return self.policies_dir / ENTITIES_JSON

    @property
    def declarations(self) -> Path:
        return self.root / DECLARATIONS_JSON

    @property
    def system_yaml(self) -> Path:
        return self.root / SYSTEM_YAML

    @property
    def contracts(self) -> Path:
        return self.root / CONTRACTS_JSON

    @property
    def contracts_dir(self) -> Path:
        return self.root / CONTRACTS_DIR

    @property
    def meta(self) -> Path:
        return self.root / META_JSON

    @property
    def history(self) -> Path:
        """``history.jsonl`` beside the run folder: where ``harness run`` and ``harness report`` append."""
        return self.root.parent / HISTORY

    def load_dir(self, scenario: str, repeat: int) -> Path:
        """Where the load generator of one scenario repeat keeps its logs and config copy."""
        return self.root / LOAD_DIR / f"{scenario}-r{repeat}"

    # -- writing -------------------------------------------------------------------------
    def write_scorecard(self, card: Scorecard, to: str | os.PathLike[str] | None = None) -> Path:
        """``scorecard.json`` (or ``to``), atomically."""
        return write_atomic(self.scorecard if to is None else to, card.model_dump_json(indent=2) + "\n")

    def write_bytes(self, path: Path, data: bytes) -> Path:
        """A file of this folder (a report, ...), atomically: a reader never sees half of it."""
        return write_atomic(path, data)

    def write_json(self, path: Path, doc: Any) -> Path:
        """A JSON file of this folder (``folder.declarations``, ...), atomically."""
        return write_atomic(path, json.dumps(doc, indent=2) + "\n")

    # -- reading -------------------------------------------------------------------------
    def read_journal(self, *, required: bool = True) -> ParsedJournal:
        """The journal's events in ``seq`` order and its problem lines (counted and reported
        by scoring, never silently dropped). ``required``: a missing or empty journal is a
        ``ConfigError`` (scoring needs it); otherwise it reads as no events (a scorecard alone
        still renders)."""
        if not self.journal.is_file():
            if required:
                raise ConfigError(f"no {JOURNAL} in the run folder", path=str(self.root))
            return ParsedJournal(events=[], problems=[])
        with self.journal.open(encoding="utf-8", errors="replace") as fh:
            parsed = parse_journal(fh)
        if required and not parsed.events:
            raise ConfigError("journal has no valid events", path=str(self.journal))
        return parsed

    def read_events(self, *, required: bool = True) -> list[Event]:
        """``read_journal``'s events alone (what a report draws)."""
        return self.read_journal(required=required).events

    def read_scorecard(self) -> Scorecard:
        return read_scorecard(self.scorecard)

    def read_contracts(self) -> list[ContractResult]:
        if not self.contracts.is_file():
            return []
        return validate(list[ContractResult], _load_json(self.contracts), self.contracts)

    def read_intake(self) -> TelemetryIntake | None:
        """What telemetry collection read and ignored, when it left a record."""
        if not self.telemetry.is_file():
            return None
        return validate(TelemetryIntake, _load_json(self.telemetry), self.telemetry)

    def span_sources(self) -> list[tuple[Path, str]]:
        """The span files, as (path, name to show): ``traces.jsonl`` then ``traces/*.json(l)``."""
        sources = [(self.traces, TRACES_JSONL)] if self.traces.is_file() else []
        if self.traces_dir.is_dir():
            sources += [(p, f"{TRACES_DIR}/{p.name}") for p in sorted(self.traces_dir.iterdir())
                        if p.suffix in (".json", ".jsonl")]
        return sources

    def audit_sources(self) -> list[tuple[Path, str]]:
        return [(self.audit, AUDIT_JSONL)] if self.audit.is_file() else []

    def read_policies(self) -> dict[str, str]:
        """Cedar policy text by file name."""
        if not self.policies_dir.is_dir():
            return {}
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(self.policies_dir.glob("*.cedar"))}

    def read_entities(self) -> list[dict[str, Any]] | None:
        if not self.entities.is_file():
            return None
        data = _load_json(self.entities)
        if not isinstance(data, list):
            raise ConfigError("expected a JSON list of Cedar entities", path=str(self.entities))
        return data

    def read_declarations(self) -> dict[str, Any]:
        return _read_json_object(self.declarations)

    def read_side_effects(self) -> list[SideEffect]:
        declared = self.read_declarations()
        return validate(list[SideEffect], declared.get("side_effects", []), self.declarations,
                        prefix="side_effects.")

    def read_meta(self) -> dict[str, Any]:
        return _read_json_object(self.meta)


def read_scorecard(path: str | os.PathLike[str]) -> Scorecard:
    """A ``scorecard.json`` (or the run folder holding one), with a one-line error on bad input."""
    path = Path(path)
    if path.is_dir():
        path = path / SCORECARD
    try:
        return Scorecard.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{SCORECARD} not found (score the run first: `harness score RUN_DIR`)",
                          path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read scorecard: {exc}", path=str(path)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"not a valid scorecard: {first['msg']}", path=str(path), field=where) from None


def validate(kind: Any, data: Any, path: Path, *, prefix: str = "") -> Any:
    """``data`` as ``kind`` (a model or a type), or a ``ConfigError`` naming the file and the first bad field."""
    try:
        return TypeAdapter(kind).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(err["msg"], path=str(path), field=prefix + ".".join(str(p) for p in err["loc"])) from None


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
