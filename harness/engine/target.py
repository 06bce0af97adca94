"""``open_target``: the one way ``harness run``, ``harness gameday`` and the pytest plugin
open the system under test.

* ``--system`` of a system brought up by ``harness sandbox up`` (``state.json`` beside its
  system.yaml): attach to it and use its supervisor.
* any other ``--system``: check safety first (nothing outside the allowlist, no
  production without the override), then start the services that declare ``start:``
  and the embedded proxy (``harness.system.launch``), hand their supervisor to process
  faults, and stop exactly what was started on exit, also on errors and Ctrl-C.
* no ``--system``: a temporary embedded sandbox, brought up and down again.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

__all__ = ["Target", "open_target"]


@dataclass
class Target:
    """An opened system: its spec, its file, and the supervisor process faults use."""

    spec: Any
    path: Path
    supervisor: Any = None
    started: list[str] = field(default_factory=list)


def _sandbox_supervisor(system_path: Path) -> Any:
    """The supervisor of a system started by ``harness sandbox up``, or None."""
    state_dir = system_path.resolve().parent
    if not (state_dir / "state.json").exists():
        return None
    from harness.system.supervisor import Supervisor

    return Supervisor.load(state_dir)


@contextlib.contextmanager
def open_target(system: Path | None, *, defects: Sequence[str] = (), allow_production: bool = False,
                say: Callable[[str], None] = lambda _msg: None) -> Iterator[Target]:
    """Open ``system`` (a system.yaml path) or, with None, a temporary embedded sandbox."""
    if system is not None:
        from harness.model.loader import load_system

        if defects:
            raise ConfigError("--defect only applies to the embedded sandbox (drop --system or add --sandbox)")
        spec = load_system(system)
        attached = _sandbox_supervisor(system)
        if attached is not None:
            yield Target(spec, Path(system), attached)
            return
        from harness.engine.run import check_safety
        from harness.system.launch import SystemLauncher

        check_safety(spec, allow_production=allow_production)  # before starting anything of it
        with SystemLauncher(spec, system) as launcher:
            if launcher.started:
                say(f"started {', '.join(launcher.started)} (logs in {launcher.state_dir / 'logs'})")
            yield Target(spec, Path(system), launcher.supervisor, list(launcher.started))
        if launcher.started:
            say(f"stopped {', '.join(launcher.started)}")
        return
    from harness.sandbox import Sandbox

    state_dir = Path(tempfile.mkdtemp(prefix="harness-sandbox-"))
    say(f"starting the embedded sandbox in {state_dir} ...")
    with Sandbox(state_dir, defects=list(defects)) as box:
        say(f"sandbox up: system.yaml at {box.system_yaml_path}")
        yield Target(box.system_spec(), Path(box.system_yaml_path), box.supervisor)
    say("sandbox down")
