"""Lazy links to the HTTP-aware relay and the traffic recorder (another module's code).

They are imported on first use and only once, so the core works (and answers
"invalid toxic type" for HTTP toxics) when those modules are absent or broken.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)
_cache: dict[str, ModuleType | None] = {}


def _load(name: str) -> ModuleType | None:
    if name not in _cache:
        try:
            _cache[name] = importlib.import_module(name)
        except ImportError as exc:
            log.debug("optional module %s unavailable: %s", name, exc)
            _cache[name] = None
    return _cache[name]


def http_toxics() -> Any:
    """The ``harness.proxy.http_toxics`` module if it provides the agreed names."""
    module = _load("harness.proxy.http_toxics")
    needed = ("HTTP_TOXIC_TYPES", "validate_http_toxic", "relay_http")
    if module is None or not all(hasattr(module, n) for n in needed):
        return None
    return module


def relay_http() -> Any:
    module = http_toxics()
    return None if module is None else module.relay_http


def recorder_class() -> Any:
    module = _load("harness.proxy.recorder")
    return None if module is None else getattr(module, "Recorder", None)
