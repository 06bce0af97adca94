"""``system.yaml``: the system under test, described once.

A system is a set of services (one orchestrator, several agents), the edges between
them (each edge may run through a named proxy so the fault layer can sit in between),
how to submit work and read its status, where traces and audit events land, the Cedar
policies, and the safety envelope (environment name and target allowlist).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from harness.jsontools import check_placeholders
from harness.model.durations import Duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartSpec(_Strict):
    """How the harness starts a supervised service."""

    command: list[str] = Field(min_length=1, description="argv of the process")
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    ready_timeout_s: Duration = 30.0


class ExternalCommands(_Strict):
    """Allowlisted commands for process faults on a system the harness does not supervise."""

    kill: list[str] | None = None
    pause: list[str] | None = None
    resume: list[str] | None = None
    restart: list[str] | None = None


class Service(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["orchestrator", "agent"]
    protocol: str = Field(pattern=r"^[a-z][a-z0-9_-]*$",
                          description="rest, a2a, mcp or one a contract protocol speaks (docs/contracts.md); "
                                      "checked where contracts use it")
    base_url: str
    health_url: str | None = None
    openapi_url: str | None = Field(default=None, description="OpenAPI document of a REST agent")
    provider_states_url: str | None = Field(
        default=None, description="Pact provider-state change endpoint (POST {state, params, action})"
    )
    start: StartSpec | None = None
    external: bool = False
    commands: ExternalCommands | None = None

    @model_validator(mode="after")
    def _start_or_external(self) -> Service:
        if self.start is None and not self.external:
            raise ValueError("a service needs either 'start' (supervised) or 'external: true'")
        if self.start is not None and self.external:
            raise ValueError("'start' and 'external: true' exclude each other")
        return self


class Edge(_Strict):
    """A call path caller -> callee. With ``proxy`` set, traffic runs through that proxy."""

    caller: str
    callee: str
    proxy: str | None = Field(default=None, description="name of the proxy on this edge")
    listen: str | None = Field(default=None, description="host:port the proxy listens on")
    upstream: str | None = Field(default=None, description="host:port of the callee")

    @property
    def name(self) -> str:
        return f"{self.caller}->{self.callee}"


class ProxySpec(_Strict):
    api_url: str = "http://127.0.0.1:8474"
    embedded: bool = True


class WorkflowApi(_Strict):
    """How to submit one unit of work and poll it."""

    engine: str = Field(default="http", min_length=1,
                        description="workflow engine (harness.engine.workflow): http = submit_url + status_url")
    submit_url: str
    submit_method: Literal["POST", "PUT"] = "POST"
    body: Annotated[dict[str, object], AfterValidator(check_placeholders)] = Field(
        default_factory=dict, description="JSON body; '{n}', '{uuid}' and '{run_id}' are filled per submission")
    idempotency_header: str | None = "Idempotency-Key"
    id_pointer: str = "/workflow_id"
    status_url: str = Field(description="URL with '{id}' for the workflow id")
    state_pointer: str = "/state"
    done_states: list[str] = Field(default_factory=lambda: ["SUCCESS"])
    failed_states: list[str] = Field(default_factory=lambda: ["ERROR", "CANCELLED"])


class SideEffect(_Strict):
    """Something the system does that must happen at most once per business key.

    Integrity counts a duplicate when two matching records of one repeat carry the same key
    (a hotel booked twice for one trip, a payment sent twice for one invoice). Without any
    declaration the harness cannot know what "done twice" means for a system, so it reports
    duplicates as not measured instead of guessing.
    """

    name: str | None = Field(default=None, description="label in reports (default: the event or span name)")
    audit_event: str | None = Field(default=None, description="audit records whose 'event' field equals this")
    span_name: str | None = Field(default=None, description="spans with this name")
    key: str = Field(description="the idempotency/business key: a JSON pointer into the audit record "
                                 "(e.g. /trip_id), or the span attribute name (e.g. trip.id)")
    where: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="extra equality filters: JSON pointer (audit) or attribute (span) -> value")

    @model_validator(mode="after")
    def _one_source(self) -> SideEffect:
        if (self.audit_event is None) == (self.span_name is None):
            raise ValueError("a side effect needs exactly one of 'audit_event' or 'span_name'")
        if self.audit_event is not None:
            for pointer in (self.key, *self.where):
                if not pointer.startswith("/"):
                    raise ValueError(f"{pointer!r} must be a JSON pointer into the audit record, e.g. '/{pointer}'")
        return self

    @property
    def label(self) -> str:
        return self.name or self.audit_event or self.span_name or self.key


class TraceSource(_Strict):
    jsonl: str | None = None
    otlp_endpoint: str | None = None


class AuditSource(_Strict):
    jsonl: str | None = None


class Policies(_Strict):
    files: list[str] = Field(default_factory=list, description="Cedar policy files")
    entities: str | None = Field(default=None, description="Cedar entities JSON file")


class Safety(_Strict):
    environment: str = "staging"
    allow_targets: list[str] = Field(
        default_factory=list, description="hosts outside loopback the harness may touch"
    )


class SystemSpec(_Strict):
    name: str
    description: str = ""
    safety: Safety = Field(default_factory=Safety)
    proxy: ProxySpec = Field(default_factory=ProxySpec)
    services: list[Service] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    workflow: WorkflowApi | None = None
    traces: TraceSource = Field(default_factory=TraceSource)
    audit: AuditSource = Field(default_factory=AuditSource)
    policies: Policies = Field(default_factory=Policies)
    side_effects: list[SideEffect] = Field(
        default_factory=list, description="what must happen at most once per key (integrity's duplicates)")

    @model_validator(mode="after")
    def _edges_name_services(self) -> SystemSpec:
        names = {s.name for s in self.services}
        if len(names) != len(self.services):
            raise ValueError("service names must be unique")
        for edge in self.edges:
            for end in (edge.caller, edge.callee):
                if end not in names:
                    raise ValueError(f"edge {edge.name} names unknown service {end!r}; known: {sorted(names)}")
        return self

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError(name)

    def edge(self, name: str) -> Edge:
        """Find an edge by ``caller->callee``, by its proxy name, or by callee name."""
        for edge in self.edges:
            if name in (edge.name, edge.proxy, edge.callee):
                return edge
        raise KeyError(name)
