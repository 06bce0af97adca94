"""RFC 6901 JSON pointers (``/a/0/b``), read-only.

Small enough to own: the ``jsonpointer`` package is not otherwise a dependency and we
only ever need resolution with a default.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def resolve(doc: Any, ptr: str, default: Any = None) -> Any:
    """Value at ``ptr`` in ``doc``; ``default`` if any step is missing. ``""`` is the whole doc."""
    if ptr == "":
        return doc
    if not ptr.startswith("/"):
        return default
    node = doc
    for raw in ptr[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(token, _MISSING)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return default
        if node is _MISSING:
            return default
    return node
