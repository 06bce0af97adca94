"""Users' own kinds, from entry points (as pytest and schemathesis load their plugins).

A distribution declares e.g. ``[project.entry-points."harness.faults"] my_fault =
"my_pkg.faults:KIND"``; the catalog that owns the group (``harness.faults.catalog``,
``harness.engine.probes``) loads it once, on first use. Only stdlib and ``harness.errors``
here, so any layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from harness.errors import ConfigError

__all__ = ["load_entry_points", "register_unique"]


def load_entry_points(group: str, expected: type, what: str) -> list[Any]:
    """Every object the ``group`` entry points name (each a ``expected`` or a sequence of them).

    A plugin that fails to import or names something else is a ``ConfigError`` naming the
    entry point, so a broken plugin is one clear line, not a traceback at some later use.
    """
    found: list[Any] = []
    for ep in entry_points(group=group):
        found += _load_one(ep, group, expected, what)
    return found


def _load_one(ep: EntryPoint, group: str, expected: type, what: str) -> list[Any]:
    where = f"entry point {ep.name!r} = {ep.value!r} (group {group})"
    try:
        obj = ep.load()
    except Exception as exc:  # any import-time failure of a user's plugin
        raise ConfigError(f"{where} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    items = [obj] if isinstance(obj, expected) else obj
    if not isinstance(items, Iterable) or isinstance(items, str | bytes):
        raise ConfigError(f"{where} names {type(obj).__name__}, not a {what} or a list of them")
    items = list(items)
    wrong = [type(item).__name__ for item in items if not isinstance(item, expected)]
    if wrong:
        raise ConfigError(f"{where} names {wrong[0]}, not a {what}")
    return items


def register_unique(into: dict[str, Any], items: Iterable[Any], what: str) -> None:
    """Add ``items`` by their ``name``; a name taken twice is a ``ConfigError``."""
    for item in items:
        if item.name in into:
            raise ConfigError(f"{what} {item.name!r} is registered twice (built in or by two plugins)")
        into[item.name] = item
