"""Stdlib-only JSON helpers shared by the engine and the Locust side (which must stay light).

``resolve_pointer`` reads RFC 6901 JSON pointers; ``render_template`` fills the ``{n}``,
``{uuid}`` and ``{run_id}`` placeholders of a workflow body, so one ``system.yaml`` body works
for probes and load alike; ``unknown_placeholders`` finds any other ``{word}``, which is
almost always a typo that would otherwise be sent to the system as literal text.
``write_atomic`` is the one way the harness replaces a file (scorecard, reports, contract
results, the supervisor's state), so a reader never sees half of one.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["PLACEHOLDERS", "check_placeholders", "render_template", "resolve_pointer", "unknown_placeholders",
           "write_atomic"]

PLACEHOLDERS = ("n", "uuid", "run_id")
"""``{n}``: a counter unique within one run across probes, load generators and workers;
``{uuid}``: a fresh UUID per submission; ``{run_id}``: the harness run's id."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


def render_template(template: Any, n: int, token: str, run_id: str = "") -> Any:
    """Fill ``{n}`` (a counter, unique within one harness run across probes, load generators
    and load workers), ``{uuid}`` (fresh per render) and ``{run_id}`` in every string, keys included."""
    if isinstance(template, dict):
        return {render_template(k, n, token, run_id): render_template(v, n, token, run_id)
                for k, v in template.items()}
    if isinstance(template, list):
        return [render_template(v, n, token, run_id) for v in template]
    if isinstance(template, str):
        return template.replace("{n}", str(n)).replace("{uuid}", token).replace("{run_id}", run_id)
    return template


def unknown_placeholders(template: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(where, "{word}")`` for every ``{word}`` in strings (keys included) that is not one of
    ``PLACEHOLDERS``; ``where`` is a dotted path into the template."""
    if isinstance(template, dict):
        for key, value in template.items():
            where = f"{path}.{key}" if path else str(key)
            yield from unknown_placeholders(key, where)
            yield from unknown_placeholders(value, where)
    elif isinstance(template, list):
        for i, value in enumerate(template):
            yield from unknown_placeholders(value, f"{path}[{i}]")
    elif isinstance(template, str):
        for match in _PLACEHOLDER.finditer(template):
            if match[1] not in PLACEHOLDERS:
                yield path, match[0]


def check_placeholders(template: Any) -> Any:
    """Pydantic validator body: ``ValueError`` naming the first unknown placeholder."""
    for where, word in unknown_placeholders(template):
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise ValueError(f"unknown placeholder {word} at {where or 'the body'}: the placeholders are {known} "
                         "(docs/system.md)")
    return template


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Replace ``path`` with ``data`` (text is UTF-8) so that readers see the old or the new file, never half.

    The data goes to a temp file next to the target (unique per process and thread, so two
    writers never share one), is fsync'd, then renamed over the target. Parent folders are
    created. The temp file honours the umask like a plain ``open`` would.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
