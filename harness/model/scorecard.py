"""``scorecard.json``: everything a report or the gate needs, derived from a run folder.

Versioned: bump ``SCORECARD_VERSION`` on any incompatible change; ``harness schema``
exports the JSON Schema to ``schemas/scorecard.schema.json``. Times are seconds.
``None`` means "not measured" (e.g. MTTR of a fault that had no impact), never zero.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCORECARD_VERSION = "1.2"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stat(_Model):
    """Summary of a sample of durations or scores."""

    n: int = 0
    p50: float | None = None
    p95: float | None = None
    max: float | None = None
    mean: float | None = None
    ci95: tuple[float, float] | None = Field(default=None, description="bootstrap 95% CI of the mean")


class PhaseStats(_Model):
    requests: int = 0
    failures: int = 0
    availability: float | None = None
    error_rate: float | None = None
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    p99_latency_ms: float | None = None
    agent_calls_per_workflow: float | None = Field(default=None, description="retry amplification")


class SloVerdict(_Model):
    metric: str
    phase: str
    min: float | None = None
    max: float | None = None
    actual: float | None = None
    passed: bool


class FaultResult(_Model):
    fault_id: str
    type: str
    target: str
    injected_at: float = Field(description="t_mono of injection")
    reverted_at: float | None = None
    impact: bool = Field(description="a probe failed or an SLO was breached while the fault was on")
    mttd_s: float | None = None
    mttr_s: float | None = Field(default=None, description="restored steady state - impact start")
    recovery_after_revert_s: float | None = None
    recovered: bool = True


class ProbeTally(_Model):
    probe: str
    total: int
    ok: int


class RepeatResult(_Model):
    repeat: int
    score: float = Field(ge=0, le=100)
    passed: bool
    failed_checks: list[str] = Field(default_factory=list, description="why it failed, one line per check")
    aborted: bool = False
    abort_reason: str | None = None
    started_at: float
    ended_at: float | None = None
    phases: dict[str, PhaseStats] = Field(default_factory=dict)
    phase_windows: dict[str, tuple[float, float]] = Field(default_factory=dict)
    probes: list[ProbeTally] = Field(default_factory=list)
    slos: list[SloVerdict] = Field(default_factory=list)
    faults: list[FaultResult] = Field(default_factory=list)


class ScenarioResult(_Model):
    scenario: str
    title: str
    weight: int = Field(ge=1, le=10)
    score: float = Field(ge=0, le=100)
    passed: bool
    aborted: bool = False
    pass_k: dict[str, float] = Field(default_factory=dict, description="k -> pass^k")
    mttd: Stat = Field(default_factory=Stat)
    mttr: Stat = Field(default_factory=Stat)
    repeats: list[RepeatResult] = Field(default_factory=list)


class WorkItem(_Model):
    workflow_id: str
    scenario: str | None = None
    repeat: int | None = None
    detail: str = ""


class Integrity(_Model):
    submitted: int = 0
    completed: int = 0
    failed: int = 0
    pending: int = 0
    lost: list[WorkItem] = Field(default_factory=list)
    duplicated: list[WorkItem] | None = Field(
        default=None, description="side effects done twice; None = not measured (no side effects declared)")
    declared: list[str] = Field(default_factory=list, description="side effects system.yaml declares")
    not_measured: str | None = Field(default=None, description="why duplicates were not measured")

    @property
    def ok(self) -> bool:
        """No lost and no duplicated item *that was measured* (see ``not_measured``)."""
        return not self.lost and not self.duplicated

    @property
    def duplicated_items(self) -> list[WorkItem]:
        """The duplicates found, for listing (empty when none were found *or* none were measured)."""
        return self.duplicated or []

    @property
    def duplicated_text(self) -> str:
        """How many duplicates, or "not measured" with the reason."""
        if self.duplicated is None:
            return f"not measured ({self.not_measured or 'no side effects declared'})"
        return str(len(self.duplicated))


class Violation(_Model):
    trace_id: str | None = None
    span_id: str | None = None
    principal: str
    action: str
    resource: str
    phase: str | None = None
    scenario: str | None = None
    policies: list[str] = Field(default_factory=list, description="ids of the policies that forbid it")
    reason: str = ""


class PolicyResult(_Model):
    actions: int = 0
    permitted: int = 0
    blocked: int = Field(default=0, description="forbidden attempts the system blocked itself (adherent)")
    adherence: float | None = Field(default=None, description="(actions - violations) / actions, None if no actions")
    by_phase: dict[str, float | None] = Field(default_factory=dict)
    violations: list[Violation] = Field(default_factory=list)
    declared: bool = Field(default=False, description="system.yaml declares Cedar policies")
    not_measured: str | None = Field(default=None, description="why adherence is None")


class ContractCheck(_Model):
    name: str
    passed: bool
    message: str = ""


class ContractResult(_Model):
    suite: str = Field(pattern=r"^[a-z][a-z0-9_-]*$",
                       description="contract protocol (openapi, pact, a2a, mcp or a registered one, "
                                   "docs/contracts.md) or diff")
    edge: str = Field(description="caller->callee or provider name")
    passed: int = 0
    failed: int = 0
    breaking_changes: list[str] = Field(default_factory=list)
    failures: list[ContractCheck] = Field(default_factory=list)


class RunMeta(_Model):
    run_id: str
    started_at: float = Field(description="Unix epoch seconds")
    ended_at: float | None = None
    git_sha: str | None = None
    system: str | None = None
    seed: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    probe_interval_s: float | None = Field(default=None, description="MTTD/MTTR resolution")


class TelemetryIntake(_Model):
    """What was read from the system's spans and audit events, what was scored, and why the
    rest was not. ``read = kept + outside_run + sum(ignored)`` for each kind; ``warnings`` say
    what could not be measured from what was kept (e.g. a missing span attribute)."""

    spans_read: int = 0
    spans_kept: int = Field(default=0, description="spans of this run that were scored")
    spans_outside_run: int = Field(default=0, description="spans outside the run's time window (other runs)")
    spans_ignored: dict[str, int] = Field(default_factory=dict, description="reason -> spans not understood")
    audit_read: int = 0
    audit_kept: int = 0
    audit_outside_run: int = 0
    audit_ignored: dict[str, int] = Field(default_factory=dict, description="reason -> audit events not understood")
    window: tuple[float, float] | None = Field(
        default=None, description="epoch seconds kept (run start/end widened by the margin of docs/telemetry.md)")
    warnings: list[str] = Field(default_factory=list)


class JournalIntake(_Model):
    """What reading ``journal.jsonl`` scored and what it could not: a line that is not an
    event of a known kind (docs/journal.md) is left out of every figure, so it is counted
    here rather than skipped without a word."""

    events: int = Field(default=0, description="events scored")
    problems: int = Field(default=0, description="lines that are not a valid event of a known kind")
    first_problem: str | None = Field(default=None, description="line number and reason of the first problem")
    torn_last_line: bool = Field(default=False, description="the last line was cut short (a killed run); tolerated")

    @property
    def warning(self) -> str | None:
        """One line for the console and summary.md when lines were not scored, else ``None``."""
        if not self.problems:
            return None
        lines = "line" if self.problems == 1 else "lines"
        return f"{self.problems} journal {lines} not scored (first: {self.first_problem})"


class Scorecard(_Model):
    schema_version: str = SCORECARD_VERSION
    run: RunMeta
    verdict: Literal["pass", "fail", "aborted"]
    resilience_score: float = Field(ge=0, le=100)
    availability: float | None = None
    mttd: Stat = Field(default_factory=Stat)
    mttr: Stat = Field(default_factory=Stat)
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    integrity: Integrity = Field(default_factory=Integrity)
    policy: PolicyResult = Field(default_factory=PolicyResult)
    contracts: list[ContractResult] = Field(default_factory=list)
    telemetry: TelemetryIntake = Field(default_factory=TelemetryIntake)
    journal: JournalIntake = Field(default_factory=JournalIntake)
