"""A user's plugin as pip would leave it: a module and a ``*.dist-info`` with entry points,
in a folder put on ``sys.path`` (importlib.metadata discovers it like any installed dist)."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

MODULE = "harness_user_plugin"


def install_plugin(site: Path, entry_points: str, module: str = "") -> None:
    dist = site / "harness_user_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-user-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    if module:
        (site / f"{MODULE}.py").write_text(module)


@contextlib.contextmanager
def plugin_site(tmp_path: Path, resets: Iterable[Callable[[], None]]) -> Iterator[Path]:
    """A fresh site folder on ``sys.path``; ``resets`` make the catalogs read entry points again."""
    path = tmp_path / "site"
    path.mkdir()
    sys.path.insert(0, str(path))
    for reset in resets:
        reset()
    try:
        yield path
    finally:
        sys.path.remove(str(path))
        sys.modules.pop(MODULE, None)
        for reset in resets:
            reset()
