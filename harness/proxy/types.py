"""Types shared by the proxy core and its HTTP-aware relay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class ToxicView:
    """A live toxic as the data path sees it.

    The core keeps one instance per toxic for its whole lifetime, so ``state`` can hold
    counters that must survive across connections (e.g. ``fail_first_n``'s count).
    """

    name: str
    type: str
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
