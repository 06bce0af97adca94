"""Stdlib-only JSON helpers shared by the engine and the Locust side (which must stay light).

``resolve_pointer`` reads RFC 6901 JSON pointers; ``render_template`` fills the ``{n}`` and
``{uuid}`` placeholders of a workflow body, so one ``system.yaml`` body works for probes
and load alike.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_template", "resolve_pointer"]


def resolve_pointer(doc: Any, pointer: str, default: Any = None) -> Any:
    """RFC 6901 JSON pointer lookup; ``default`` when any step is missing.

    Our own (not the jsonpointer package) so the locustfile stays stdlib + locust only.
    """
    if pointer == "":
        return doc
    if not pointer.startswith("/"):
        return default
    cur = doc
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict):
            if token not in cur:
                return default
            cur = cur[token]
        elif isinstance(cur, list):
            if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
                return default
            idx = int(token)
            if idx >= len(cur):
                return default
            cur = cur[idx]
        else:
            return default
    return cur


def render_template(template: Any, n: int, token: str) -> Any:
    """Fill ``{n}`` (a counter, unique within one harness run across probes, load generators
    and load workers) and ``{uuid}`` (fresh per render) in every string, keys included."""
    if isinstance(template, dict):
        return {render_template(k, n, token): render_template(v, n, token) for k, v in template.items()}
    if isinstance(template, list):
        return [render_template(v, n, token) for v in template]
    if isinstance(template, str):
        return template.replace("{n}", str(n)).replace("{uuid}", token)
    return template
