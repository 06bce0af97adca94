"""The process fault kinds: kill, pause, restart, crash the orchestrator. Each is one
``FaultKind`` (params model, builder, docs line); ``KINDS`` is what the catalog
(``harness.faults.catalog``) registers.

A supervised service is broken through the supervisor (``ProcessControl``); an external
one only through the commands ``system.yaml`` allowlists for it (``services[].commands``),
since the harness runs nothing else on a system it does not own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from pydantic import Field

from harness.errors import ConfigError
from harness.faults.base import Fault, FaultError, FaultKind, FaultParams, FaultRequest
from harness.faults.process import (
    CrashOrchestratorFault,
    ExternalCommandFault,
    KillFault,
    PauseFault,
    ProcessControl,
    RestartFault,
    _alive,
)
from harness.model.system import Service
from harness.system.safety import check_target
from harness.system.supervisor import Supervisor

__all__ = ["EXTERNAL_COMMANDS", "KINDS"]

#: (inject command, revert command) per process fault on an external service
EXTERNAL_COMMANDS: dict[str, tuple[str, str | None]] = {
    "kill": ("kill", "restart"),
    "pause": ("pause", "resume"),
    "restart": ("restart", None),
    "crash_orchestrator": ("kill", "restart"),
}


class NoProcessParams(FaultParams):
    """A process fault that takes no params."""


class CrashParams(FaultParams):
    restart_after_s: float | None = Field(
        default=0.0, ge=0, description="seconds until the orchestrator is restarted; null = never")


def _service(request: FaultRequest) -> Service:
    target = request.spec.target.service
    assert target is not None  # the catalog checked the target's family
    try:
        return request.system.service(target)
    except KeyError:
        known = sorted(s.name for s in request.system.services)
        raise ConfigError(f"{request.where}: unknown service {target!r}; known: {known}",
                          field="target.service") from None


def _external(request: FaultRequest, svc: Service, restart_after_s: float | None) -> Fault:
    """Nothing on the far side can enforce a TTL for a user's command: no TTL (0)."""
    check_target(svc.base_url, request.system)
    spec = request.spec
    inject_name, revert_name = EXTERNAL_COMMANDS[spec.type]
    commands = svc.commands
    inject_cmd = getattr(commands, inject_name, None) if commands else None
    revert_cmd = getattr(commands, revert_name, None) if commands and revert_name else None
    missing = [n for n, c in ((inject_name, inject_cmd), (revert_name, revert_cmd)) if n and not c]
    if missing:
        need = " and ".join(f"commands.{n}" for n in missing)
        raise ConfigError(
            f"{request.where}: external service {svc.name!r} declares no {need}; the harness only runs "
            f"commands declared in system.yaml (services[{svc.name}].{need})",
            field="target.service",
        )
    assert inject_cmd is not None
    return ExternalCommandFault(svc.name, spec.type, fault_id=request.fault_id, inject_cmd=inject_cmd,
                                revert_cmd=revert_cmd, revert_after_s=restart_after_s)


def _supervisor(request: FaultRequest, svc: Service) -> ProcessControl:
    if request.supervisor is None:
        raise FaultError(f"{request.where}: service {svc.name!r} is supervised but no supervisor was given")
    return cast(ProcessControl, request.supervisor)


def _builder(cls: type[KillFault | RestartFault]) -> Callable[[FaultRequest], Fault]:
    """The builder of a fault that is ``cls`` on a supervised service, the allowlisted commands on an external one."""
    def build(request: FaultRequest) -> Fault:
        svc = _service(request)
        if svc.external:
            return _external(request, svc, None)
        return cls(svc.name, fault_id=request.fault_id, supervisor=_supervisor(request, svc))
    return build


build_kill = _builder(KillFault)
build_restart = _builder(RestartFault)


def build_pause(request: FaultRequest) -> Fault:
    """The pause arms a SIGCONT watchdog with the TTL, so it ends even if the harness dies."""
    svc = _service(request)
    if svc.external:
        return _external(request, svc, None)
    return PauseFault(svc.name, fault_id=request.fault_id, supervisor=_supervisor(request, svc),
                      ttl_s=request.ttl_s)


def build_crash(request: FaultRequest) -> Fault:
    svc = _service(request)
    if svc.kind != "orchestrator":
        raise ConfigError(f"{request.where}: service {svc.name!r} is an {svc.kind}, not the orchestrator",
                          field="target.service")
    restart_after_s = cast(CrashParams, request.params).restart_after_s
    if svc.external:
        return _external(request, svc, restart_after_s)
    return CrashOrchestratorFault(svc.name, fault_id=request.fault_id, supervisor=_supervisor(request, svc),
                                  restart_after_s=restart_after_s)


class _SystemStopped:
    """Stands in for the supervisor of a system that was stopped since the fault was injected.

    ``harness sandbox down`` removes the state file; with the whole system stopped,
    there is no killed service left to bring back, so reverting is a no-op.
    """

    def pid(self, name: str) -> int:
        raise LookupError(name)

    def restart(self, name: str) -> None:
        return None


def _reattach(entry: dict[str, Any]) -> ProcessControl | None:
    """The file-backed supervisor (``harness.system.supervisor``) that ran the service, if recorded."""
    state_dir = entry.get("supervisor_state_dir")
    if not state_dir:
        return None
    supervisor = Supervisor.load(Path(state_dir))
    if entry.get("service") not in supervisor.names():
        return _SystemStopped()
    return cast(ProcessControl, supervisor)


def _restorer(cls: type[KillFault | PauseFault | RestartFault]) -> Any:
    def restore(entry: dict[str, Any], supervisor: Any) -> Fault:
        if supervisor is None and entry.get("pid") is not None and not _alive(int(entry["pid"]),
                                                                              entry.get("starttime")):
            supervisor = _reattach(entry)
        return cls.from_ledger(entry, supervisor)
    return restore


_EXTERNAL = {"external_command": lambda entry, _supervisor: ExternalCommandFault.from_ledger(entry)}

KINDS: tuple[FaultKind, ...] = (
    FaultKind("kill", "process", NoProcessParams, build_kill, "kill -9 the service's process group",
              {"process_kill": _restorer(KillFault), **_EXTERNAL}),
    FaultKind("pause", "process", NoProcessParams, build_pause,
              "SIGSTOP the service until the fault ends (a watchdog sends SIGCONT at the TTL)",
              {"process_pause": _restorer(PauseFault), **_EXTERNAL}),
    FaultKind("restart", "process", NoProcessParams, build_restart,
              "restart the service and wait until it is healthy again",
              {"process_restart": _restorer(RestartFault), **_EXTERNAL}),
    FaultKind("crash_orchestrator", "process", CrashParams, build_crash,
              "kill the orchestrator mid-flight and restart it after restart_after_s",
              {"process_crash": _restorer(CrashOrchestratorFault), **_EXTERNAL}),
)
