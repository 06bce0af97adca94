"""The journal: one JSON object per line, the single source of truth of a run.

The engine appends events (``harness.engine.journal.JournalWriter`` fsyncs each one);
scoring and reports only ever read them, so any run can be re-scored from its folder.

Every event has ``seq``, ``kind``, ``t_mono`` (seconds on the machine-wide monotonic
clock, ``time.monotonic()``, comparable across processes on one host) and ``t_wall``
(Unix epoch seconds). Context fields (``scenario``, ``repeat``, ``phase``) are set when
known. Each kind has its own model below (``ProbeEvent`` for ``probe`` ...), shared by the
writer and every reader and documented in docs/journal.md.

Old journals keep reading: fields a writer no longer knows are kept as extras (never an
error), and fields that older writers left out have defaults. Writing is strict instead
(``build_event``): an unknown kind or field is an error at the write site. A line that is
not an event of a known kind is reported by ``parse_journal`` (line number and reason), not
silently skipped; only the torn last line of a killed run is tolerated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, ValidationError

from harness.errors import ConfigError

EventKind = Literal[
    "run_start", "run_end",
    "scenario_start", "scenario_end",
    "phase_start", "phase_end",
    "fault_injected", "fault_reverted",
    "probe",
    "load_sample",
    "workflow_submitted", "workflow_completed", "workflow_failed", "workflow_pending",
    "abort", "error", "note",
]


class Event(BaseModel):
    """What every journal line has. Readers narrow to a kind's model with ``isinstance``."""

    # extra="allow": a field an older (or newer) writer added survives reading, unvalidated;
    # allow_inf_nan=False: NaN would be written as null and fail to read back.
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    written_when: ClassVar[str] = ""
    """One line for docs/journal.md: when the engine writes this kind."""

    seq: int = Field(description="0, 1, 2, ... in write order (the sort key; lines on disk may be shuffled)")
    kind: EventKind
    t_mono: float = Field(description="seconds on the machine-wide monotonic clock (time.monotonic())")
    t_wall: float = Field(description="Unix epoch seconds")
    scenario: str | None = Field(default=None, description="context: the scenario (file stem)")
    repeat: int | None = Field(default=None, description="context: the repeat, 0-based")
    phase: str | None = Field(default=None, description="context: baseline, inject, observe, revert or recover")

    def to_json(self) -> str:
        """The line as written: compact, the fields the writer set (plus any extras)."""
        return self.model_dump_json(exclude_unset=True, ensure_ascii=True, fallback=str)


class SafetyOverrides(BaseModel):
    """What the safety check decided about the system's environment (``run_start.overrides``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    environment: str = ""
    production: bool = False
    production_override: bool = Field(default=False, description="the run was allowed against production")


class RunStartEvent(Event):
    written_when: ClassVar[str] = "the run starts (after validation and safety checks)"
    kind: Literal["run_start"]
    run_id: str
    system: str | None = Field(default=None, description="system.yaml name")
    seed: int | None = None
    git_sha: str | None = None
    versions: dict[str, str] = Field(default_factory=dict, description="package -> version")
    scenarios: list[str] = Field(default_factory=list, description="scenario names in run order")
    overrides: SafetyOverrides | None = None
    pid: int | None = Field(default=None, description="the harness process (for `harness cleanup`)")
    leftovers_reverted: list[str] = Field(default_factory=list,
                                          description="faults a killed earlier run left behind, reverted first")


class RunEndEvent(Event):
    written_when: ClassVar[str] = "the run is over"
    kind: Literal["run_end"]
    exit_code: int
    aborted: bool = False


class ScenarioStartEvent(Event):
    written_when: ClassVar[str] = "a scenario repeat starts (load and probes start right after)"
    kind: Literal["scenario_start"]
    title: str | None = Field(default=None, description="the scenario's title (the name when absent)")
    description: str | None = None
    weight: int = 5
    repeats: int = 1
    stable_for: float = Field(default=2.0, description="seconds all probes must hold to count as restored")
    probe_interval_s: float | None = Field(default=None, description="the shortest probe interval (MTTD resolution)")
    phases: dict[str, float] = Field(default_factory=dict, description="phase -> planned seconds")
    probes: list[str] = Field(default_factory=list, description="steady-state probe names")
    slos: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the scenario's SLOs as in scenario.yaml; validated when scored, so a bad one is "
                    "an error naming slos[i]")


class ScenarioEndEvent(Event):
    written_when: ClassVar[str] = "the repeat is over"
    kind: Literal["scenario_end"]
    aborted: bool = False
    reason: str | None = None


class PhaseStartEvent(Event):
    written_when: ClassVar[str] = "each of baseline, inject, observe, revert, recover starts"
    kind: Literal["phase_start"]
    planned_s: float | None = Field(default=None, description="planned duration")


class PhaseEndEvent(Event):
    written_when: ClassVar[str] = "each phase ends"
    kind: Literal["phase_end"]


class FaultInjectedEvent(Event):
    written_when: ClassVar[str] = (
        "after the fault is in the cleanup ledger and applied; `t_mono` is when injecting *began* "
        "(a crash blocks until the restart, but its impact starts at once)")
    kind: Literal["fault_injected"]
    fault_id: str
    type: str = Field(description="fault type (docs/faults.md)")
    target: str | dict[str, str | None] | None = Field(
        default=None, description="edge or service; older writers wrote {edge: ..., service: ...}")
    params: dict[str, Any] = Field(default_factory=dict)
    stream: Literal["upstream", "downstream"] | None = None
    toxicity: float | None = None
    ttl_s: float | None = Field(default=None, description="the proxy reverts it by itself after this")
    duration_ms: float | None = Field(default=None, description="how long injecting took")


class FaultRevertedEvent(Event):
    written_when: ClassVar[str] = ("after revert (also on abort, error and Ctrl-C); "
                                   "`t_mono` is when reverting began")
    kind: Literal["fault_reverted"]
    fault_id: str
    ok: bool
    error: str | None = Field(default=None, description="why reverting failed (the ledger keeps it)")
    duration_ms: float | None = None


class ProbeEvent(Event):
    written_when: ClassVar[str] = "each probe round (default every 250 ms); `t_mono` is when it completed"
    kind: Literal["probe"]
    probe: str = Field(description="the steady-state probe's name")
    ok: bool
    latency_ms: float | None = None
    detail: str | None = Field(default=None, description="why it failed, or the workflow id")


class LoadSampleEvent(Event):
    written_when: ClassVar[str] = "every Locust request; `t_mono` is when it ended"
    kind: Literal["load_sample"]
    name: str = Field(description="the load task")
    method: str
    status: int = Field(description="HTTP status, 0 when no response arrived")
    latency_ms: float | None = None
    ok: bool
    workflow_id: str | None = None
    error: str | None = None
    worker: int = Field(default=0, description="Locust worker index")


class WorkflowSubmittedEvent(Event):
    written_when: ClassVar[str] = "a unit of work was accepted"
    kind: Literal["workflow_submitted"]
    workflow_id: str
    key: str | None = Field(default=None, description="idempotency key sent with it")
    source: str | None = Field(default=None, description="`load` or `probe:<name>`")


class _WorkflowOutcome(Event):
    workflow_id: str
    state: str = Field(default="", description="the system's state; UNKNOWN = it has no record (lost)")


class WorkflowCompletedEvent(_WorkflowOutcome):
    written_when: ClassVar[str] = "once per submitted workflow that completed, after the repeat settles"
    kind: Literal["workflow_completed"]


class WorkflowFailedEvent(_WorkflowOutcome):
    written_when: ClassVar[str] = ("once per submitted workflow that failed, after the repeat "
                                   "settles; `state: UNKNOWN` = the system has no record (lost)")
    kind: Literal["workflow_failed"]


class WorkflowPendingEvent(_WorkflowOutcome):
    written_when: ClassVar[str] = "once per submitted workflow not settled within settle_s"
    kind: Literal["workflow_pending"]


WorkflowOutcomeEvent = WorkflowCompletedEvent | WorkflowFailedEvent | WorkflowPendingEvent


class AbortEvent(Event):
    written_when: ClassVar[str] = "an abort condition fired or Ctrl-C"
    kind: Literal["abort"]
    reason: str
    condition: Literal["abort_when", "signal"] | None = None


class ErrorEvent(Event):
    written_when: ClassVar[str] = "an unexpected error stopped the repeat (faults still reverted)"
    kind: Literal["error"]
    message: str


class NoteEvent(Event):
    written_when: ClassVar[str] = "a person's note during a game day, or a harness warning (a lease not renewed)"
    kind: Literal["note"]
    message: str
    author: str | None = None
    fault_id: str | None = None


EVENT_TYPES: tuple[type[Event], ...] = (
    RunStartEvent, RunEndEvent, ScenarioStartEvent, ScenarioEndEvent, PhaseStartEvent, PhaseEndEvent,
    FaultInjectedEvent, FaultRevertedEvent, ProbeEvent, LoadSampleEvent, WorkflowSubmittedEvent,
    WorkflowCompletedEvent, WorkflowFailedEvent, WorkflowPendingEvent, AbortEvent, ErrorEvent, NoteEvent,
)

EVENT_MODELS: dict[str, type[Event]] = {get_args(cls.model_fields["kind"].annotation)[0]: cls for cls in EVENT_TYPES}
"""kind -> its model."""

AnyEvent = Annotated[
    RunStartEvent | RunEndEvent | ScenarioStartEvent | ScenarioEndEvent | PhaseStartEvent | PhaseEndEvent
    | FaultInjectedEvent | FaultRevertedEvent | ProbeEvent | LoadSampleEvent | WorkflowSubmittedEvent
    | WorkflowCompletedEvent | WorkflowFailedEvent | WorkflowPendingEvent | AbortEvent | ErrorEvent | NoteEvent,
    Field(discriminator="kind"),
]


class JournalLine(RootModel[AnyEvent]):
    """One line of ``journal.jsonl`` (its JSON Schema is schemas/journal.schema.json)."""

    model_config = ConfigDict(title="harness journal line")


class EventError(ValueError):
    """An event that must not be written: unknown kind, unknown field, or a bad value."""


def build_event(data: dict[str, Any]) -> Event:
    """Validate a would-be line into its kind's model, strictly: every field must be one the
    model declares (a misspelt field fails here, at the write site, not silently in scoring)."""
    kind = data.get("kind")
    model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise EventError(f"unknown journal event kind {kind!r}; known: {', '.join(EVENT_MODELS)}")
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        raise EventError(f"{kind}: {describe_error(exc)}") from None
    if event.model_extra:
        raise EventError(f"{kind}: unknown field(s) {', '.join(sorted(event.model_extra))}; "
                         f"{model.__name__} has {', '.join(model.model_fields)}")
    return event


def without_surrogates(value: Any) -> Any:
    """``value`` with lone surrogates in its strings (undecodable bytes kept by
    ``surrogateescape``, e.g. in an OS error text) replaced by ``?``: JSON cannot carry them."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_surrogates(v) for v in value]
    return value


def describe_error(exc: ValidationError) -> str:
    """The first error of a validation as ``field 'x': message``."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    return f"field '{loc}': {first['msg']}" if loc else first["msg"]


def kind_fields(model: type[Event]) -> list[str]:
    """The fields a kind adds to the common ones, in declaration order (docs/journal.md lists them)."""
    return [name for name in model.model_fields if name not in Event.model_fields]


# -- reading ---------------------------------------------------------------------------

_LINE: TypeAdapter[Event] = TypeAdapter(AnyEvent)


@dataclass(frozen=True)
class JournalProblem:
    """A line that is not an event of a known kind: not scored, and reported."""

    line: int
    """1-based line number in the file as read."""
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ParsedJournal:
    events: list[Event]
    """Valid events, sorted by ``seq``."""
    problems: list[JournalProblem]
    torn_last_line: bool = False
    """The last line is cut short (a run killed mid-write): tolerated, not a problem."""


def parse_journal(lines: Iterable[str]) -> ParsedJournal:
    """Parse journal lines: the valid events (sorted by ``seq``) and a problem per line that
    is not one (unknown kind, missing or mistyped field, not JSON).

    A run killed with SIGKILL may leave a torn last line; it is tolerated (``torn_last_line``)
    rather than reported, because everything before it was fsync'd and is valid. A line that
    is not JSON anywhere else is a problem like any other.
    """
    events: list[Event] = []
    problems: list[JournalProblem] = []
    unparsable: JournalProblem | None = None  # the latest non-JSON line: torn if nothing follows
    for number, raw in enumerate(lines, start=1):
        raw = raw.strip()
        if not raw:
            continue
        if unparsable is not None:
            problems.append(unparsable)
            unparsable = None
        try:
            events.append(_LINE.validate_json(raw))
        except ValidationError as exc:
            problem = JournalProblem(number, _line_error(exc))
            if exc.errors()[0]["type"] == "json_invalid":
                unparsable = problem
            else:
                problems.append(problem)
    events.sort(key=lambda e: e.seq)
    return ParsedJournal(events, problems, torn_last_line=unparsable is not None)


def parse_journal_lines(lines: Iterable[str], *, source: str = "journal.jsonl") -> list[Event]:
    """The events of a journal that must be whole (the engine's own, in tests and tools): a
    ``ConfigError`` naming ``source`` and the line for the first problem; a torn last line is
    still tolerated. Use ``parse_journal`` to read past problems and report them."""
    parsed = parse_journal(lines)
    if parsed.problems:
        first = parsed.problems[0]
        raise ConfigError(first.reason, path=source, line=first.line)
    return parsed.events


def _line_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    kind, ctx = first["type"], first.get("ctx") or {}
    if kind == "json_invalid":
        return f"not JSON ({ctx.get('error', first['msg'])})"
    if kind == "union_tag_invalid":
        return f"unknown event kind {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return "no 'kind' field"
    if kind in ("dict_type", "model_attributes_type") or not first["loc"]:
        return "not a JSON object"
    event_kind, *loc = first["loc"]
    where = ".".join(str(p) for p in loc)
    return f"{event_kind}: " + (f"field '{where}': {first['msg']}" if where else first["msg"])
