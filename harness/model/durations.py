"""Human-friendly durations for YAML: ``5``, ``2.5``, ``"250ms"``, ``"5s"``, ``"2m"``.

All durations are stored as float seconds so the engine and scoring never convert units.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(value: object) -> float:
    """Return seconds for a number or a string such as ``"250ms"``; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 5, 2.5, '250ms', '5s' or '2m', got a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value}")
        return float(value)
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    raise ValueError(f"expected a duration such as 5, 2.5, '250ms', '5s' or '2m', got {value!r}")


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A non-negative duration in seconds, parsed from a number or a suffixed string."""
