"""Users' own kinds, from entry points (as pytest and schemathesis load their plugins).

A distribution declares e.g. ``[project.entry-points."harness.faults"] my_fault =
"my_pkg.faults:KIND"``; the catalog that owns the group (``harness.faults.catalog``,
``harness.engine.probes``) loads it once, on first use. Only stdlib and ``harness.errors``
here, so any layer may use it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from harness.errors import ConfigError

__all__ = ["Catalog", "load_entry_points", "register_unique"]

K = TypeVar("K")


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


class Catalog(Generic[K]):
    """Name -> kind for one axis (fault types, probe types): the built-ins plus the entry point
    group's, loaded once, on first use, and thread-safe (probes and faults run on threads)."""

    def __init__(self, group: str, kind_type: type[K], what: str, builtins: Iterable[K]) -> None:
        self.group, self.kind_type, self.what = group, kind_type, what
        self._builtins = tuple(builtins)
        self._lock = threading.Lock()
        self._kinds: dict[str, K] | None = None

    def kinds(self) -> dict[str, K]:
        with self._lock:
            if self._kinds is None:
                kinds: dict[str, K] = {}
                register_unique(kinds, self._builtins, self.what)
                register_unique(kinds, load_entry_points(self.group, self.kind_type, self.kind_type.__name__),
                                self.what)
                self._kinds = kinds
            return self._kinds

    def reset(self) -> None:
        """Forget the loaded kinds, so the next use reads the entry points again (for tests)."""
        with self._lock:
            self._kinds = None
