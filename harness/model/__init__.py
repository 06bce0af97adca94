"""Pure data models: system.yaml, scenarios, the journal and the scorecard. No I/O here
except the YAML loader, which reads only the file it is handed."""

from harness.model.journal import Event, JournalLine, parse_journal, parse_journal_lines
from harness.model.loader import load_scenario, load_system, validate_file
from harness.model.scenario import PHASES, FaultSpec, Scenario
from harness.model.scorecard import Scorecard
from harness.model.system import SystemSpec

SCHEMAS = {"system": SystemSpec, "scenario": Scenario, "scorecard": Scorecard, "journal": JournalLine}

__all__ = [
    "PHASES", "SCHEMAS", "Event", "FaultSpec", "JournalLine", "Scenario", "Scorecard", "SystemSpec",
    "load_scenario", "load_system", "parse_journal", "parse_journal_lines", "validate_file",
]
