"""The embedded sandbox as a target: what ``harness run``, ``harness gameday`` and the
pytest plugin open when they are given no system.yaml.

It lives here, not in ``harness.system.target``, because the sandbox is one user of
the harness like any other: the layer that opens systems knows nothing of it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from harness.sandbox.sandbox import Sandbox, check_extra_installed
from harness.system.target import Target, open_target

__all__ = ["open_system_or_sandbox", "temporary_sandbox"]


@contextlib.contextmanager
def temporary_sandbox(defects: Sequence[str] = (), say: Callable[[str], None] = lambda _msg: None) -> Iterator[Target]:
    """A sandbox in a fresh temporary state dir, brought up for the block and down after it."""
    check_extra_installed()  # before the temp dir and the "starting" line
    state_dir = Path(tempfile.mkdtemp(prefix="harness-sandbox-"))
    say(f"starting the embedded sandbox in {state_dir} ...")
    with Sandbox(state_dir, defects=list(defects)) as box:
        say(f"sandbox up: system.yaml at {box.system_yaml_path}")
        yield Target(box.system_spec(), Path(box.system_yaml_path), box.supervisor, [], state_dir)
    say("sandbox down")


def open_system_or_sandbox(system: Path | None, *, defects: Sequence[str] = (), allow_production: bool = False,
                           say: Callable[[str], None] = lambda _msg: None,
                           ) -> contextlib.AbstractContextManager[Target]:
    """``open_target(system)``, or with None a temporary embedded sandbox."""
    if system is None:
        return temporary_sandbox(defects, say)
    return open_target(system, defects=defects, allow_production=allow_production, say=say)
