"""``scenarios/*.yaml``: one chaos experiment.

Phases run in order ``baseline -> inject -> observe -> revert -> recover``. Faults are
injected at ``inject`` start plus their ``at_s`` offset, stay on through ``observe``
(or for their own ``duration_s``), and are all reverted at ``revert``. Probes run the
whole time; load starts before ``baseline``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from harness.jsontools import check_placeholders
from harness.model.durations import Duration

PHASES: tuple[str, ...] = ("baseline", "inject", "observe", "revert", "recover")
Phase = Literal["baseline", "inject", "observe", "revert", "recover"]

NETWORK_FAULTS = (
    "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down",
)
HTTP_FAULTS = (
    "http_status", "http_abort", "http_delay", "json_truncate", "json_malform", "schema_drift",
    "wrong_value", "fail_first_n", "stream_cut",
)
PROCESS_FAULTS = ("kill", "pause", "restart", "crash_orchestrator")
FAULT_TYPES = NETWORK_FAULTS + HTTP_FAULTS + PROCESS_FAULTS
FaultType = Literal[
    "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down",
    "http_status", "http_abort", "http_delay", "json_truncate", "json_malform", "schema_drift",
    "wrong_value", "fail_first_n", "stream_cut",
    "kill", "pause", "restart", "crash_orchestrator",
]


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


class HttpProbe(_Strict):
    type: Literal["http"]
    name: str
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


class WorkflowProbe(_Strict):
    """Submit one unit of work through the system's workflow API; it must finish by a deadline."""

    type: Literal["workflow"]
    name: str
    deadline_s: Duration = 10.0
    body: Annotated[dict[str, Any], AfterValidator(check_placeholders)] | None = None
    interval_s: Duration = 1.0


class CommandProbe(_Strict):
    type: Literal["command"]
    name: str
    command: list[str] = Field(min_length=1)
    expect_exit: int = 0
    interval_s: Duration = 1.0
    timeout_s: Duration = 5.0


Probe = Annotated[HttpProbe | WorkflowProbe | CommandProbe, Field(discriminator="type")]


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
    type: FaultType
    target: FaultTarget
    name: str | None = None
    at_s: Duration = Field(default=0.0, description="offset from the start of the inject phase")
    duration_s: Duration | None = Field(default=None, description="default: until the revert phase")
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _process_faults_target_services(self) -> FaultSpec:
        if self.type in PROCESS_FAULTS and self.target.service is None:
            raise ValueError(f"process fault {self.type!r} needs 'target: {{service: NAME}}'")
        if self.type not in PROCESS_FAULTS and self.target.edge is None:
            raise ValueError(f"network/HTTP fault {self.type!r} needs 'target: {{edge: NAME}}'")
        return self


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
