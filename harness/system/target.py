"""``open_target``: the one way ``harness run``, ``harness gameday`` and the pytest plugin
open the system under test, so all three start, attach and stop the same way.

* ``system.yaml`` of a system brought up by ``harness sandbox up`` (``state.json``
  beside it): attach to it and use its supervisor; nothing is started or stopped.
* any other ``system.yaml``: check safety first (nothing outside the allowlist, no
  production without the override), then start the services that declare ``start:``
  and the embedded proxy (``harness.system.launch``), hand their supervisor to process
  faults, and stop exactly what was started on exit, also on errors and Ctrl-C. The
  supervisor ties what it starts to the harness (parent-death signal), so a SIGKILLed
  harness does not leave them running either.
* no ``system.yaml``: ``harness.sandbox.target.open_system_or_sandbox`` brings up a
  temporary embedded sandbox instead (product code runs without the sandbox installed).

A proxy that is not embedded must already answer: otherwise the first network fault
would fail deep inside a run with a bare "unreachable", so it is checked up front and
the error says which ``proxy.api_url`` and what to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.errors import ConfigError
from harness.model.loader import load_system
from harness.model.system import SystemSpec
from harness.system.launch import SystemLauncher
from harness.system.safety import check_safety
from harness.system.supervisor import Supervisor

__all__ = ["Target", "open_target"]

#: seconds the up-front proxy check waits for ``GET /version``
PROXY_CHECK_TIMEOUT_S = 3.0


@dataclass
class Target:
    """An opened system: its spec and file, the supervisor process faults use, what was
    started for this target (stopped again on exit) and where its state and logs live."""

    spec: SystemSpec
    spec_path: Path
    supervisor: Any = None
    started: list[str] = field(default_factory=list)
    state_dir: Path | None = None


def _sandbox_state_dir(system_path: Path) -> Path | None:
    """The state dir of a system started by ``harness sandbox up``, or None."""
    state_dir = system_path.resolve().parent
    return state_dir if (state_dir / "state.json").exists() else None


def check_proxy_reachable(spec: SystemSpec, system_path: Path | None = None) -> None:
    """Raise ``ConfigError`` when a non-embedded proxy that edges need does not answer."""
    if spec.proxy.embedded or not any(edge.proxy for edge in spec.edges):
        return
    api = spec.proxy.api_url.rstrip("/")
    try:
        httpx.get(f"{api}/version", timeout=PROXY_CHECK_TIMEOUT_S, trust_env=False)
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"proxy API {spec.proxy.api_url} (proxy.api_url) is unreachable ({exc.__class__.__name__}); "
            f"start the Toxiproxy server there, or set proxy.embedded: true to let the harness start its own",
            path=str(system_path) if system_path else None, field="proxy.api_url") from None


@contextlib.contextmanager
def _user_system(system: Path, *, defects: Sequence[str], allow_production: bool,
                 say: Callable[[str], None]) -> Iterator[Target]:
    if defects:
        raise ConfigError("--defect only applies to the embedded sandbox (drop --system or add --sandbox)")
    spec = load_system(system)
    check_safety(spec, allow_production=allow_production)  # before touching anything of it
    attached = _sandbox_state_dir(system)
    if attached is not None:
        say(f"attached to the running system in {attached}")
        yield Target(spec, system, Supervisor.load(attached), [], attached)
        return
    check_proxy_reachable(spec, system)
    launcher = SystemLauncher(spec, system)
    try:
        with launcher:
            if launcher.started:
                say(f"started {', '.join(launcher.started)} (logs in {launcher.state_dir / 'logs'})")
            yield Target(spec, system, launcher.supervisor, list(launcher.started), launcher.state_dir)
    finally:
        if launcher.started:
            say(f"stopped {', '.join(launcher.started)}")


def open_target(system: Path, *, defects: Sequence[str] = (), allow_production: bool = False,
                say: Callable[[str], None] = lambda _msg: None) -> contextlib.AbstractContextManager[Target]:
    """Open ``system`` (a system.yaml path).

    Use as ``with open_target(path) as target: ...``; on exit (normal, exception or
    Ctrl-C) whatever was started for it is stopped, and nothing else. The embedded
    sandbox, opened when no system.yaml is given, is ``harness.sandbox.target``'s: the
    sandbox is one user of this layer, not part of it.
    """
    return _user_system(Path(system), defects=defects, allow_production=allow_production, say=say)
