"""A whole run: validate, check safety, run every scenario repeat, collect, score, report.

``execute_run(RunOptions(...))`` is what ``harness run``, ``harness gameday`` and the
pytest plugin call, each with a target from ``harness.system.target.open_target``. It
owns the run folder ``<out_root>/<run-id>/`` (``harness.runfolder.RunFolder``) and the
journal, opens one fault session (cleanup ledger + signal handling) for the whole run,
and returns an exit code: 0 ran and held, 1 an SLO or steady-state check failed, 3
aborted by a safety condition, 130 interrupted. Bad configuration raises ``ConfigError``
(exit 2) before anything is touched.
"""

from __future__ import annotations

import os
import platform
import random
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from harness import __version__
from harness.engine.collect import collect_telemetry
from harness.engine.journal import JournalWriter
from harness.engine.scenario_runner import LiveStatus, RepeatOutcome, ScenarioRunner
from harness.errors import ConfigError
from harness.faults.base import FaultError
from harness.faults.catalog import build_fault
from harness.faults.ledger import CleanupLedger, cleanup
from harness.faults.session import FaultSession
from harness.load import LoadGenerator
from harness.model.loader import error_at_field, load_scenario
from harness.model.scenario import LoadProfile, Scenario
from harness.model.system import SystemSpec
from harness.report import write_reports
from harness.runfolder import RunFolder
from harness.scoring import score_run
from harness.system.safety import check_safety
from harness.system.target import Target
from harness.telemetry.rundir import load_run

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_LEDGER = Path(".harness") / "ledger.jsonl"


def _quiet(_message: str) -> None:
    """The default console: say nothing."""


@dataclass(kw_only=True)
class RunOptions:
    """Everything one run needs; ``harness run`` flags map onto these one to one (docs/scenarios.md)."""

    target: Target
    """The system under test, as ``open_target`` opened it (spec, file, supervisor)."""
    scenarios: Sequence[Path]
    out_root: Path = Path("reports")
    run_id: str | None = None
    """Default: a new timestamped id (``new_run_id``)."""
    repeats: int | None = None
    """Override every scenario's ``repeats``."""
    seed: int | None = None
    """Seed for load and contract inputs, recorded in the journal; default: a fresh random one."""
    allow_production: bool = False
    ledger_path: Path = DEFAULT_LEDGER
    settle_s: float = 20.0
    load_overrides: dict[str, Any] = field(default_factory=dict)
    """Fields of every scenario's load profile to replace (``--distributed``, ``--locust-master``)."""
    contract_suites: Sequence[str] = ()
    score: bool = True
    """Score and write the reports at the end (off for callers that score later)."""
    status: LiveStatus = field(default_factory=LiveStatus)
    on_event: Callable[[str], None] = _quiet
    """The run's console: one line per thing a person should hear."""
    before_phase: Callable[..., None] | None = None
    """Called before each phase starts (``harness gameday`` asks people there)."""


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    exit_code: int
    outcomes: list[RepeatOutcome] = field(default_factory=list)
    verdict: str | None = None
    outputs: dict[str, Path] = field(default_factory=dict)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def git_sha(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=cwd, check=False)
    except OSError:
        return None
    return out.stdout.strip() or None


def load_scenarios(paths: Sequence[Path]) -> list[tuple[str, Scenario]]:
    """Validate every scenario before running any; names are file stems (unique)."""
    if not paths:
        raise ConfigError("no scenario files given (and none found in scenarios/)")
    loaded, seen = [], set()
    for path in paths:
        scenario = load_scenario(path)
        name = Path(path).stem
        if name in seen:
            raise ConfigError(f"two scenarios are named {name!r}; file stems must be unique", path=str(path))
        seen.add(name)
        loaded.append((name, scenario))
    return loaded


def check_against_system(scenarios: list[tuple[str, Scenario]], paths: Sequence[Path],
                         system: SystemSpec, supervisor: Any = None) -> None:
    """Every probe service a scenario names must exist, and every fault must build for this
    system (the fault registry checks targets, proxies and parameters), before anything runs."""
    services = {svc.name for svc in system.services}
    for (name, scenario), path in zip(scenarios, paths, strict=True):
        for i, probe in enumerate(scenario.steady_state):
            svc = getattr(probe, "service", None)
            if svc is not None and svc not in services:
                raise ConfigError(f"unknown service {svc!r}; system.yaml has {sorted(services)}",
                                  path=str(path), field=f"steady_state[{i}].service")
        for i, fault in enumerate(scenario.faults):
            try:  # building is side-effect free; injecting happens later
                build_fault(fault, system, fault_id=f"{name}-check-{i}", ttl_s=1.0, supervisor=supervisor)
            except ConfigError as exc:
                where = f"faults[{i}].{exc.field}" if exc.field else f"faults[{i}]"
                raise error_at_field(path, where, exc.detail) from None
            except FaultError as exc:
                raise error_at_field(path, f"faults[{i}].target", str(exc)) from None


def _versions() -> dict[str, str]:
    out = {"harness": __version__, "python": platform.python_version()}
    for pkg in ("locust", "dbos", "pact-python", "schemathesis", "cedarpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def execute_run(options: RunOptions) -> RunResult:
    """Run every scenario repeat of ``options`` against its target; see the module docstring."""
    system, system_path, supervisor = options.target.spec, options.target.spec_path, options.target.supervisor
    scenarios = load_scenarios(options.scenarios)
    check_against_system(scenarios, options.scenarios, system, supervisor)
    overrides = check_safety(system, allow_production=options.allow_production)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    run_id = options.run_id or new_run_id()
    folder = RunFolder.create(options.out_root, run_id)
    result = RunResult(run_id, folder.root, EXIT_OK)
    say = options.on_event
    leftovers = _clean_leftovers(options.ledger_path, supervisor, say)
    ledger = CleanupLedger(options.ledger_path)

    def load_factory(profile: LoadProfile, on_sample: Callable[[Any], None], name: str, repeat: int,
                     max_runtime_s: float = 3600.0) -> LoadGenerator:
        if system.workflow is None:
            raise ConfigError("a scenario has 'load' but system.yaml has no 'workflow' section",
                              path=str(system_path) if system_path else None, field="workflow")
        if options.load_overrides:
            profile = profile.model_copy(update=options.load_overrides)
        health = next((s.health_url for s in system.services if s.kind == "orchestrator"), None)
        return LoadGenerator(profile, system.workflow, out_dir=folder.load_dir(name, repeat),
                             seed=seed, on_sample=on_sample, health_url=health,
                             max_runtime_s=max_runtime_s, run_id=run_id)

    start_wall = time.time()
    interrupted = False
    with JournalWriter(folder.journal) as journal:
        journal.emit("run_start", run_id=run_id, system=system.name, seed=seed, git_sha=git_sha(),
                     versions=_versions(), scenarios=[n for n, _ in scenarios], overrides=overrides,
                     pid=os.getpid(), leftovers_reverted=leftovers)
        try:
            def lease_error(fault: Any, reason: str) -> None:  # from the renewal thread; never fatal
                say(f"warning: lease of fault {fault.fault_id} not renewed: {reason}")
                journal.emit("note", message=f"lease of fault {fault.fault_id} not renewed: {reason}",
                             author="harness", fault_id=fault.fault_id)

            with FaultSession(ledger, on_lease_error=lease_error) as session:
                runner = ScenarioRunner(journal=journal, system=system, session=session,
                                        build_fault=build_fault, supervisor=supervisor,
                                        load_factory=load_factory, status=options.status, settle_s=options.settle_s,
                                        before_phase=options.before_phase, run_id=run_id)
                try:
                    for name, scenario in scenarios:
                        repeats = options.repeats or scenario.repeats
                        for repeat in range(repeats):
                            say(f"scenario {name} repeat {repeat + 1}/{repeats}: {scenario.title}")
                            outcome = runner.run(name, scenario, repeat)
                            result.outcomes.append(outcome)
                            if outcome.aborted:
                                say(f"  aborted: {outcome.reason}")
                finally:
                    runner.close()
        except KeyboardInterrupt:
            interrupted = True
            journal.set_context(scenario=None, repeat=None, phase=None)
            journal.emit("abort", reason="interrupted (Ctrl-C); all faults reverted", condition="signal")
        finally:
            aborted = interrupted or any(o.aborted for o in result.outcomes)
            code = EXIT_INTERRUPTED if interrupted else (EXIT_ABORTED if aborted else EXIT_OK)
            journal.emit("run_end", exit_code=code, aborted=aborted)
            result.exit_code = code
    collect_telemetry(system, folder, start_wall=start_wall, end_wall=time.time(), system_path=system_path,
                      say=say)
    if interrupted:
        return result
    suites = options.contract_suites
    contracts_held = not suites or _run_contracts(system, suites, folder.root, seed, say)
    if not contracts_held and result.exit_code == EXIT_OK:
        result.exit_code = EXIT_FAILED
    if options.score:
        _score_and_report(result, folder, say)
    return result


def _run_contracts(system: SystemSpec, suites: Sequence[str], run_dir: Path, seed: int,
                   say: Callable[[str], None]) -> bool:
    """Contract suites against the (recovered) system; results land in contracts.json for scoring.
    Each failure is said in one line (a service that is down must not hide in a file); returns
    whether every contract held."""
    # imported only for --contracts: schemathesis and friends add ~0.4 s to every other run
    from harness.contracts.results import all_passed, write_results
    from harness.contracts.run import run_all

    say(f"contract suites: {', '.join(suites)} ...")
    results = run_all(system, suites=suites, seed=seed, report_dir=RunFolder(run_dir).contracts_dir)
    write_results(results, run_dir)
    failed = sum(r.failed for r in results)
    say(f"contracts: {sum(r.passed for r in results)} checks passed, {failed} failed")
    for r in results:
        for f in r.failures:
            say(f"  contract FAIL [{r.suite} {r.edge}] {f.name}: {f.message.splitlines()[0] if f.message else ''}")
    return all_passed(results)


def _clean_leftovers(ledger_path: Path, supervisor: Any, say: Callable[[str], None]) -> list[str]:
    """Revert what a killed earlier run left in the ledger (live runs are skipped), before starting."""
    if not ledger_path.exists():
        return []
    report = cleanup(ledger_path, supervisor=supervisor)
    done = [row.fault_id for row in report.rows if row.outcome == "reverted"]
    if done:
        say(f"reverted {len(done)} fault(s) a killed earlier run left behind: {', '.join(done)}")
    for row in report.rows:
        if row.outcome in {"failed", "manual"}:
            say(f"warning: leftover fault {row.fault_id} ({row.target}): {row.outcome}: {row.detail}")
    return done


def _score_and_report(result: RunResult, folder: RunFolder, say: Callable[[str], None]) -> None:
    scorecard = score_run(load_run(folder))
    folder.write_scorecard(scorecard)
    result.verdict = scorecard.verdict
    if result.exit_code == EXIT_OK and scorecard.verdict == "fail":
        result.exit_code = EXIT_FAILED
    result.outputs = write_reports(folder.root, history=folder.history)
    say(f"verdict {scorecard.verdict}, resilience score {scorecard.resilience_score:.1f}")
