"""Redact secrets from attributes before they are written to disk.

Keys are matched on their last dotted segment so ``http.request.header.authorization``
is caught while ``gen_ai.usage.input_tokens`` (a count, not a credential) is kept.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"(^|[-_])(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key)$"
    r"|secret|passw(or)?d|token(?!s)",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key.rsplit(".", 1)[-1]))


def redact(attributes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``attributes`` with secret-looking keys' values replaced (recursively)."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if is_secret_key(str(key)):
            out[key] = REDACTED
        elif isinstance(value, dict):
            out[key] = redact(value)
        else:
            out[key] = value
    return out
