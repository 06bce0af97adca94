"""Errors the CLI turns into one clear line and exit code 2 (usage/config), never a traceback."""

from __future__ import annotations


class HarnessError(Exception):
    """Base class for errors that are shown to the user as one line."""

    exit_code = 2


class ConfigError(HarnessError):
    """Bad input: a YAML file, a flag, a schema. The message names file, line and field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.path, self.line, self.field, self.detail = path, line, field, message
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}{what}{message}")


class SafetyError(HarnessError):
    """A refused target or environment (e.g. production without the override flag)."""
