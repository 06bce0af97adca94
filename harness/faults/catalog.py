"""The fault catalog: every fault type a scenario may name, each registered once.

A type is a ``FaultKind`` (``harness.faults.base``): a params model (pydantic, so params
are checked field by field and their JSON Schema is exported by ``harness schema``), a
builder, a docs line and its family (``network``/``http`` faults land on an edge,
``process`` faults on a service). The built-in kinds live in ``network_kinds`` and
``process_kinds``; users add their own through the ``harness.faults`` entry point group,
whose entries name a ``FaultKind`` or a sequence of them (docs/faults.md). The group
is loaded once, on first use of the catalog.

``build_fault`` is where a scenario's ``faults[]`` item meets ``system.yaml``. Everything a
user wrote wrong surfaces as a ``ConfigError`` naming the field, before anything is broken.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harness.errors import ConfigError
from harness.faults import network_kinds, process_kinds
from harness.faults.base import Fault, FaultError, FaultKind, FaultParams, FaultRequest
from harness.model.scenario import FaultSpec
from harness.model.system import SystemSpec
from harness.plugins import Catalog

__all__ = [
    "BUILTIN_KINDS",
    "ENTRY_POINT_GROUP",
    "FAULTS",
    "build_fault",
    "check_fault",
    "fault_from_ledger",
    "fault_kind",
    "fault_kinds",
    "reset",
]

ENTRY_POINT_GROUP = "harness.faults"
BUILTIN_KINDS: tuple[FaultKind, ...] = (*network_kinds.KINDS, *process_kinds.KINDS)

FAULTS: Catalog[FaultKind] = Catalog(ENTRY_POINT_GROUP, FaultKind, "fault type", BUILTIN_KINDS)
#: name -> kind for every built-in and plugin fault type (the plugins loaded once)
fault_kinds = FAULTS.kinds
#: forget the loaded kinds, so the next use reads the entry points again (for tests)
reset = FAULTS.reset


def fault_kind(name: str) -> FaultKind:
    """The kind a scenario's ``type`` names; ``ConfigError`` (field ``type``) for an unknown one."""
    kinds = fault_kinds()
    if name not in kinds:
        raise ConfigError(f"unknown fault type {name!r}; known: {', '.join(sorted(kinds))} "
                          f"(`harness faults list` describes them)", field="type")
    return kinds[name]


def _params_error(kind: FaultKind, spec: FaultSpec, exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"][:1])
    where = f"fault {spec.name or spec.type!r}"
    if first["type"] == "extra_forbidden":
        noun = "param" if kind.family == "process" else "attribute"
        known = sorted(kind.params.model_fields)
        hint = f"known: {known}" if known else f"{spec.type!r} takes no params"
        return ConfigError(f"{where}: unknown {noun} for {spec.type!r}; {hint}", field=f"params.{key}")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = f"{key!r} is required for {spec.type!r}"
    elif "must be" not in message:
        message += f", not {first.get('input')!r}"
    return ConfigError(f"{where}: {message}", field=f"params.{key}" if key else "params")


def check_fault(spec: FaultSpec) -> tuple[FaultKind, FaultParams]:
    """The spec's kind and validated params, without a system: what ``harness validate`` checks."""
    kind = fault_kind(spec.type)
    if kind.family == "process" and spec.target.service is None:
        raise ConfigError(f"process fault {spec.type!r} needs 'target: {{service: NAME}}'", field="target")
    if kind.family != "process" and spec.target.edge is None:
        raise ConfigError(f"{kind.family} fault {spec.type!r} needs 'target: {{edge: NAME}}'", field="target")
    try:
        params = kind.params.model_validate(spec.params)
    except ValidationError as exc:
        raise _params_error(kind, spec, exc) from None
    return kind, params


def build_fault(spec: FaultSpec, system: SystemSpec, *, fault_id: str, ttl_s: float,
                supervisor: Any = None) -> Fault:
    """Map a scenario's fault spec onto a fault object for ``system`` (side-effect free).

    ``ttl_s`` is the dead-man TTL (fault duration plus a margin); network faults send it
    to the proxy, pauses arm a SIGCONT watchdog with it. Raises ``ConfigError`` (naming
    the field) for specs that do not fit the system, ``SafetyError`` for targets outside
    the allowlist.
    """
    if ttl_s <= 0:
        raise ValueError("build_fault needs ttl_s > 0 (fault duration plus a margin)")
    kind, params = check_fault(spec)
    return kind.build(FaultRequest(spec, params, system, fault_id, ttl_s, supervisor))


def fault_from_ledger(entry: dict[str, Any], *, supervisor: Any = None) -> Fault:
    """Rebuild a fault from its ledger entry (``Fault.ledger_entry()``), for cleanup."""
    kind = entry.get("kind")
    for fault_kind_ in fault_kinds().values():
        restore = fault_kind_.restorers.get(str(kind))
        if restore is not None:
            return restore(entry, supervisor)
    raise FaultError(f"ledger entry {entry.get('fault_id')!r} has unknown kind {kind!r}")
