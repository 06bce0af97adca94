"""``scenarios/*.yaml``: one chaos experiment.

Phases run in order ``baseline -> inject -> observe -> revert -> recover``. Faults are
injected at ``inject`` start plus their ``at_s`` offset, stay on through ``observe``
(or for their own ``duration_s``), and are all reverted at ``revert``. Probes run the
whole time; load starts before ``baseline``.

Which fault and probe types exist is not this module's business: a fault's ``type`` and
``params`` and a probe of a type not declared here are checked against the catalogs
(``harness.faults.catalog``, ``harness.engine.probes``), which users extend through the
``harness.faults`` and ``harness.probes`` entry points.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from harness.jsontools import check_placeholders
from harness.model.durations import Duration

PHASES: tuple[str, ...] = ("baseline", "inject", "observe", "revert", "recover")
Phase = Literal["baseline", "inject", "observe", "revert", "recover"]

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhaseDurations(_Strict):
    baseline: Duration = 5.0
    inject: Duration = 10.0
    observe: Duration = 0.0
    revert: Duration = 0.0
    recover: Duration = 10.0


class JsonCheck(_Strict):
    """A JSON pointer in the probe response, compared with a value or a numeric tolerance."""

    pointer: str = Field(pattern=r"^(/.*)?$")
    equals: Any = None
    min: float | None = None
    max: float | None = None


class ProbeSpec(BaseModel):
    """What every probe has; the base of every probe type's spec model.

    A probe whose ``type`` is not one of the types below parses as a plain ``ProbeSpec``
    (its other fields kept as extras) and is checked against its own spec model by the
    probe catalog (``harness.engine.probes``).
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)
    name: str
    interval_s: Duration = 1.0


class HttpProbe(ProbeSpec):
    type: Literal["http"]
    url: str | None = Field(default=None, description="absolute URL; or use service + path")
    service: str | None = Field(default=None, description="service in system.yaml whose base_url is used")
    path: str = "/"
    method: Literal["GET", "POST", "HEAD"] = "GET"
    expect_status: list[int] = Field(default_factory=lambda: [200])
    json_check: JsonCheck | None = Field(default=None, alias="json")
    max_latency_ms: float | None = None
    interval_s: Duration = 0.25
    timeout_s: Duration = 2.0

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _url_or_service(self) -> HttpProbe:
        if (self.url is None) == (self.service is None):
            raise ValueError("an http probe needs exactly one of 'url' or 'service' (with 'path')")
        return self

    def resolved_url(self, base_urls: dict[str, str]) -> str:
        """The URL to call, given the system's service base URLs."""
        if self.url is not None:
            return self.url
        if self.service not in base_urls:
            raise KeyError(self.service)
        return base_urls[self.service].rstrip("/") + "/" + self.path.lstrip("/")


class WorkflowProbe(ProbeSpec):
    """Submit one unit of work through the system's workflow API; it must finish by a deadline."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["workflow"]
    deadline_s: Duration = 10.0
    body: Annotated[dict[str, Any], AfterValidator(check_placeholders)] | None = None


class CommandProbe(ProbeSpec):
    model_config = ConfigDict(extra="forbid")

    type: Literal["command"]
    command: list[str] = Field(min_length=1)
    expect_exit: int = 0
    timeout_s: Duration = 5.0


#: probe types whose spec is part of the scenario model (checked, with lines, while loading)
BUILTIN_PROBES: dict[str, type[ProbeSpec]] = {"http": HttpProbe, "workflow": WorkflowProbe, "command": CommandProbe}
_OTHER_PROBE = "other"


def _probe_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in BUILTIN_PROBES else _OTHER_PROBE


Probe = Annotated[
    Annotated[HttpProbe, Tag("http")] | Annotated[WorkflowProbe, Tag("workflow")]
    | Annotated[CommandProbe, Tag("command")] | Annotated[ProbeSpec, Tag(_OTHER_PROBE)],
    Discriminator(_probe_tag),
]


LoadTask = Literal["submit", "status", "health"]
SUBMIT_TASK: LoadTask = "submit"
"""The load task whose successful samples carry the id of a workflow it submitted."""


class LoadProfile(_Strict):
    users: int = Field(default=4, ge=0, le=10_000)
    spawn_rate: float = Field(default=4.0, gt=0)
    think_time_s: tuple[float, float] = (0.2, 0.5)
    tasks: dict[LoadTask, int] = Field(
        default_factory=lambda: {"submit": 3, "status": 1},
        description="task weights: submit (a work item), status (poll one), health (GET the health URL)",
    )
    body: Annotated[dict[str, Any], AfterValidator(check_placeholders)] | None = Field(
        default=None, description="override of the workflow body")
    distributed: int = Field(default=0, ge=0, description="workers; 0 = local runner")
    master: str | None = Field(default=None, description="host:port of an existing Locust master")


class FaultTarget(_Strict):
    """Where a fault lands: an edge (``caller->callee``, a proxy name or a callee) or a service."""

    edge: str | None = None
    service: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FaultTarget:
        if (self.edge is None) == (self.service is None):
            raise ValueError("a fault target needs exactly one of 'edge' or 'service'")
        return self


class FaultSpec(_Strict):
    """One fault of a scenario. ``type`` and ``params`` are checked by the fault catalog
    (``harness.faults.catalog``) when the scenario is validated or built for a system."""

    type: str = Field(min_length=1, description="fault type; `harness faults list` shows them all")
    target: FaultTarget
    name: str | None = None
    at_s: Duration = Field(default=0.0, description="offset from the start of the inject phase")
    duration_s: Duration | None = Field(default=None, description="default: until the revert phase")
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    params: dict[str, Any] = Field(default_factory=dict)


class AbortCondition(_Strict):
    """Stop the experiment early (and revert) when live signals cross a line."""

    probe: str | None = Field(default=None, description="probe name")
    consecutive_failures: int | None = Field(default=None, ge=1)
    error_rate_above: float | None = Field(default=None, ge=0.0, le=1.0)
    window_s: Duration = 5.0

    @model_validator(mode="after")
    def _one_kind(self) -> AbortCondition:
        if (self.consecutive_failures is None) == (self.error_rate_above is None):
            raise ValueError("an abort condition needs exactly one of 'consecutive_failures' or 'error_rate_above'")
        if self.consecutive_failures is not None and self.probe is None:
            raise ValueError("'consecutive_failures' needs 'probe: NAME'")
        return self


class Slo(_Strict):
    metric: Literal["availability", "error_rate", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms"]
    phase: Phase | Literal["all"] = "all"
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> Slo:
        if self.min is None and self.max is None:
            raise ValueError("an SLO needs 'min' or 'max'")
        return self


class Scenario(_Strict):
    title: str = Field(min_length=1)
    description: str = ""
    weight: int = Field(default=5, ge=1, le=10)
    repeats: int = Field(default=1, ge=1, le=100)
    phases: PhaseDurations = Field(default_factory=PhaseDurations)
    stable_for: Duration = 2.0
    steady_state: list[Probe] = Field(default_factory=list)
    load: LoadProfile | None = None
    faults: list[FaultSpec] = Field(default_factory=list)
    abort_when: list[AbortCondition] = Field(default_factory=list)
    slos: list[Slo] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _probe_names(self) -> Scenario:
        names = [p.name for p in self.steady_state]
        if len(set(names)) != len(names):
            raise ValueError("steady_state probe names must be unique")
        for cond in self.abort_when:
            if cond.probe is not None and cond.probe not in names:
                raise ValueError(f"abort condition names unknown probe {cond.probe!r}; known: {names}")
        return self
