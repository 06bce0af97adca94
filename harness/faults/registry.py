"""From scenario fault specs (and ledger entries) to fault objects.

``build_fault`` is where a scenario's ``faults[]`` item meets ``system.yaml``: the
edge resolves to a proxy on the system's proxy API, the service to a supervised
process or to the allowlisted commands of an external one. Everything a user wrote
wrong surfaces here as a ``ConfigError`` naming the field, before anything is broken.
"""

from __future__ import annotations

from typing import Any

from harness.errors import ConfigError
from harness.faults.base import Fault, FaultError
from harness.faults.guard import check_target
from harness.faults.network import ProxyDownFault, ToxicFault
from harness.faults.process import (
    CrashOrchestratorFault,
    ExternalCommandFault,
    KillFault,
    PauseFault,
    ProcessControl,
    RestartFault,
)
from harness.model.scenario import HTTP_FAULTS, NETWORK_FAULTS, PROCESS_FAULTS, FaultSpec
from harness.model.system import Service, SystemSpec

__all__ = ["TCP_ATTRIBUTES", "build_fault", "fault_from_ledger"]

#: Toxiproxy's attribute names (all integers) per TCP toxic type
TCP_ATTRIBUTES: dict[str, frozenset[str]] = {
    "latency": frozenset({"latency", "jitter"}),
    "bandwidth": frozenset({"rate"}),
    "slow_close": frozenset({"delay"}),
    "timeout": frozenset({"timeout"}),
    "reset_peer": frozenset({"timeout"}),
    "slicer": frozenset({"average_size", "size_variation", "delay"}),
    "limit_data": frozenset({"bytes"}),
}

#: params each process fault accepts
PROCESS_PARAMS: dict[str, frozenset[str]] = {
    "kill": frozenset(),
    "pause": frozenset(),
    "restart": frozenset(),
    "crash_orchestrator": frozenset({"restart_after_s"}),
}

#: (inject command, revert command) per process fault on an external service
EXTERNAL_COMMANDS: dict[str, tuple[str, str | None]] = {
    "kill": ("kill", "restart"),
    "pause": ("pause", "resume"),
    "restart": ("restart", None),
    "crash_orchestrator": ("kill", "restart"),
}


def _where(spec: FaultSpec) -> str:
    return f"fault {spec.name or spec.type!r}"


def _tcp_attributes(spec: FaultSpec) -> dict[str, int]:
    allowed = TCP_ATTRIBUTES[spec.type]
    out: dict[str, int] = {}
    for key, value in spec.params.items():
        if key not in allowed:
            raise ConfigError(f"{_where(spec)}: unknown attribute for {spec.type!r}; known: {sorted(allowed)}",
                              field=f"params.{key}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
            raise ConfigError(f"{_where(spec)}: must be a non-negative integer, not {value!r}",
                              field=f"params.{key}")
        out[key] = int(value)
    return out


def _http_attributes(spec: FaultSpec) -> dict[str, Any]:
    """Validate with the embedded server's own validator when it is importable."""
    try:
        from harness.proxy.http_toxics import validate_http_toxic
    except ImportError:
        return dict(spec.params)
    try:
        validate_http_toxic(spec.type, dict(spec.params), stream=spec.stream)
    except ValueError as exc:
        raise ConfigError(f"{_where(spec)}: {exc}", field="stream" if "stream" in str(exc) else "params") from exc
    return dict(spec.params)  # send what the user wrote; the server normalises it again


def _network_fault(spec: FaultSpec, system: SystemSpec, fault_id: str, ttl_s: float) -> Fault:
    assert spec.target.edge is not None
    try:
        edge = system.edge(spec.target.edge)
    except KeyError:
        known = sorted(e.name for e in system.edges)
        raise ConfigError(f"{_where(spec)}: unknown edge {spec.target.edge!r}; known: {known}",
                          field="target.edge") from None
    if not edge.proxy:
        raise ConfigError(f"{_where(spec)}: edge {edge.name} has no proxy; set edges[].proxy in system.yaml",
                          field="target.edge")
    check_target(system.proxy.api_url, system)
    if edge.upstream:
        check_target(edge.upstream, system)
    if spec.type == "down":
        if spec.params:
            raise ConfigError(f"{_where(spec)}: 'down' takes no params", field="params")
        return ProxyDownFault(system.proxy.api_url, edge.proxy, fault_id=fault_id, ttl_s=ttl_s)
    attributes = _tcp_attributes(spec) if spec.type in TCP_ATTRIBUTES else _http_attributes(spec)
    return ToxicFault(system.proxy.api_url, edge.proxy, spec.type, fault_id=fault_id, ttl_s=ttl_s,
                      stream=spec.stream, toxicity=spec.toxicity, attributes=attributes)


def _external_fault(spec: FaultSpec, svc: Service, system: SystemSpec, fault_id: str,
                    ttl_s: float, restart_after_s: float | None) -> Fault:
    check_target(svc.base_url, system)
    inject_name, revert_name = EXTERNAL_COMMANDS[spec.type]
    commands = svc.commands
    inject_cmd = getattr(commands, inject_name, None) if commands else None
    revert_cmd = getattr(commands, revert_name, None) if commands and revert_name else None
    missing = [n for n, c in ((inject_name, inject_cmd), (revert_name, revert_cmd)) if n and not c]
    if missing:
        need = " and ".join(f"commands.{n}" for n in missing)
        raise ConfigError(
            f"{_where(spec)}: external service {svc.name!r} declares no {need}; the harness only runs "
            f"commands declared in system.yaml (services[{svc.name}].{need})",
            field="target.service",
        )
    assert inject_cmd is not None
    after = restart_after_s if spec.type == "crash_orchestrator" else None
    _ = ttl_s  # nothing on the far side can enforce a TTL for a user's command: no TTL (0)
    return ExternalCommandFault(svc.name, spec.type, fault_id=fault_id, inject_cmd=inject_cmd,
                                revert_cmd=revert_cmd, revert_after_s=after)


def _process_fault(spec: FaultSpec, system: SystemSpec, fault_id: str, ttl_s: float,
                   supervisor: ProcessControl | None) -> Fault:
    assert spec.target.service is not None
    try:
        svc = system.service(spec.target.service)
    except KeyError:
        known = sorted(s.name for s in system.services)
        raise ConfigError(f"{_where(spec)}: unknown service {spec.target.service!r}; known: {known}",
                          field="target.service") from None
    for key in spec.params:
        if key not in PROCESS_PARAMS[spec.type]:
            raise ConfigError(f"{_where(spec)}: unknown param for {spec.type!r}; known: "
                              f"{sorted(PROCESS_PARAMS[spec.type])}", field=f"params.{key}")
    restart_after_s: float | None = 0.0
    if spec.type == "crash_orchestrator":
        if svc.kind != "orchestrator":
            raise ConfigError(f"{_where(spec)}: service {svc.name!r} is an {svc.kind}, not the orchestrator",
                              field="target.service")
        raw = spec.params.get("restart_after_s", 0.0)
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0):
            raise ConfigError(f"{_where(spec)}: must be a number of seconds >= 0 or null, not {raw!r}",
                              field="params.restart_after_s")
        restart_after_s = None if raw is None else float(raw)
    if svc.external:
        return _external_fault(spec, svc, system, fault_id, ttl_s, restart_after_s)
    if supervisor is None:
        raise FaultError(f"{_where(spec)}: service {svc.name!r} is supervised but no supervisor was given")
    if spec.type == "kill":
        return KillFault(svc.name, fault_id=fault_id, supervisor=supervisor)
    if spec.type == "pause":
        return PauseFault(svc.name, fault_id=fault_id, supervisor=supervisor, ttl_s=ttl_s)
    if spec.type == "restart":
        return RestartFault(svc.name, fault_id=fault_id, supervisor=supervisor)
    return CrashOrchestratorFault(svc.name, fault_id=fault_id, supervisor=supervisor,
                                  restart_after_s=restart_after_s)


def build_fault(spec: FaultSpec, system: SystemSpec, *, fault_id: str, ttl_s: float,
                supervisor: ProcessControl | None = None) -> Fault:
    """Map a scenario's fault spec onto a fault object for ``system``.

    ``ttl_s`` is the dead-man TTL (fault duration plus a margin); network faults send it
    to the proxy, pauses arm a SIGCONT watchdog with it. Raises ``ConfigError`` (naming
    the field) for specs that do not fit the system, ``SafetyError`` for targets outside
    the allowlist.
    """
    if ttl_s <= 0:
        raise ValueError("build_fault needs ttl_s > 0 (fault duration plus a margin)")
    if spec.type in NETWORK_FAULTS or spec.type in HTTP_FAULTS:
        return _network_fault(spec, system, fault_id, ttl_s)
    if spec.type in PROCESS_FAULTS:
        return _process_fault(spec, system, fault_id, ttl_s, supervisor)
    raise ConfigError(f"{_where(spec)}: no fault implementation for type {spec.type!r}", field="type")


def fault_from_ledger(entry: dict[str, Any], *, supervisor: ProcessControl | None = None) -> Fault:
    """Rebuild a fault from its ledger entry (``Fault.ledger_entry()``), for cleanup."""
    kind = entry.get("kind")
    if kind == "toxic":
        return ToxicFault.from_ledger(entry)
    if kind == "proxy_down":
        return ProxyDownFault.from_ledger(entry)
    if kind == "external_command":
        return ExternalCommandFault.from_ledger(entry)
    supervised = {"process_kill": KillFault, "process_crash": CrashOrchestratorFault,
                  "process_pause": PauseFault, "process_restart": RestartFault}
    if kind in supervised:
        if supervisor is None and entry.get("pid") is not None and not _process_alive(entry):
            supervisor = _reattach(entry)
        return supervised[kind].from_ledger(entry, supervisor)
    raise FaultError(f"ledger entry {entry.get('fault_id')!r} has unknown kind {kind!r}")


def _process_alive(entry: dict[str, Any]) -> bool:
    from harness.faults.process import _alive

    return _alive(int(entry["pid"]), entry.get("starttime"))


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
    from pathlib import Path

    from harness.system.supervisor import Supervisor

    supervisor = Supervisor.load(Path(state_dir))
    if entry.get("service") not in supervisor.names():
        return _SystemStopped()
    return supervisor
