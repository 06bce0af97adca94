"""pytest plugin (``pytest11`` entry point ``harness``).

* ``pytest scenarios/`` collects every scenario YAML in a folder named ``scenarios``
  as test items, one per repeat, and runs each with the scenario engine.
* Fixtures for hand-written chaos tests: ``harness_system`` (the system under test;
  the embedded sandbox unless ``--harness-system system.yaml`` is given; one per xdist
  worker, on its own free ports), ``inject_fault`` (a context manager that always
  reverts), and ``journal`` (a JournalWriter in the test's tmp dir).
* Marker ``@pytest.mark.chaos``.
* With allure-pytest active, each scenario item gets one Allure step per phase.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError, HarnessError


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "chaos scenarios")
    group.addoption("--harness-system", default=None, help="system.yaml of the system under test "
                    "(default: start the embedded sandbox)")
    group.addoption("--harness-out", default="reports", help="where scenario items write run folders")
    group.addoption("--harness-settle", type=float, default=15.0, help="seconds to let in-flight work finish")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: a chaos experiment run by harness")


@dataclass
class HarnessSystem:
    """What ``harness_system`` yields: the spec, its file, the supervisor process faults use
    (the sandbox's, or the one that started the system's ``start:`` services) and the
    folder of its state and logs."""

    spec: Any
    path: Path | None
    supervisor: Any = None
    state_dir: Path | None = None


class _SystemHolder:
    """Lazily opens one system per pytest process (so per xdist worker) and stops it at exit.

    Opening goes through ``harness.system.target.open_target``, the code path of
    ``harness run --system`` and ``harness gameday``: with ``--harness-system`` the
    system's ``start:`` services and the embedded proxy are started (or a ``harness
    sandbox up`` system is attached), without it a sandbox is brought up. A system that
    cannot be opened fails every test that needs it with the same one-line reason,
    rather than being retried (and half-started) once per test.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._target: Any = None
        self.error: str | None = None
        self._stack = contextlib.ExitStack()

    def target(self) -> Any:
        """The opened ``harness.system.target.Target`` (what scenario items run against)."""
        if self.error is not None:
            pytest.fail(self.error, pytrace=False)
        if self._target is None:
            from harness.sandbox.target import open_system_or_sandbox  # lazy: loads in every pytest session

            path = self.config.getoption("--harness-system")
            try:
                self._target = self._stack.enter_context(open_system_or_sandbox(Path(path) if path else None))
            except HarnessError as exc:  # bad system.yaml, refused target, a service that would not start
                self.error = f"harness: cannot open the system under test: {exc}"
                pytest.fail(self.error, pytrace=False)
        return self._target

    def get(self) -> HarnessSystem:
        target = self.target()
        return HarnessSystem(target.spec, target.spec_path, target.supervisor, target.state_dir)

    def close(self) -> None:
        self._stack.close()


_HOLDER_KEY = pytest.StashKey[_SystemHolder]()


def _holder(config: pytest.Config) -> _SystemHolder:
    if _HOLDER_KEY not in config.stash:
        config.stash[_HOLDER_KEY] = _SystemHolder(config)
    return config.stash[_HOLDER_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _HOLDER_KEY in config.stash:
        config.stash[_HOLDER_KEY].close()


# -- scenario files as test items ------------------------------------------------------

def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in {".yaml", ".yml"} and file_path.parent.name == "scenarios":
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.model.loader import load_scenario  # lazy: loads in every pytest session

        try:
            scenario = load_scenario(self.path)
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        for repeat in range(scenario.repeats):
            item = ScenarioItem.from_parent(self, name=f"{self.path.stem}[repeat{repeat}]",
                                            scenario=scenario, repeat=repeat)
            item.add_marker(pytest.mark.chaos)
            # all repeats of one scenario on the same xdist worker (with --dist loadgroup)
            item.add_marker(pytest.mark.xdist_group(self.path.stem))
            yield item


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, repeat: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.repeat = repeat

    def runtest(self) -> None:
        from harness.engine.run import EXIT_OK, RunOptions, execute_run  # lazy: loads in every pytest session

        target = _holder(self.config).target()
        out = Path(self.config.getoption("--harness-out"))
        result = execute_run(RunOptions(target=target, scenarios=[self.path], out_root=out, repeats=1,
                                        settle_s=self.config.getoption("--harness-settle"),
                                        run_id=f"{self.path.stem}-r{self.repeat}-{_short_id()}"))
        self.user_properties.append(("run_dir", str(result.run_dir)))
        _allure_steps(result.run_dir)
        if result.exit_code != EXIT_OK:
            raise ScenarioFailed(_failure_message(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.path.stem} repeat {self.repeat}: {self.scenario.title}"


def _short_id() -> str:
    return uuid.uuid4().hex[:6]


def _failure_message(result: Any) -> str:
    lines = [f"scenario run {result.run_id} exited {result.exit_code} (verdict {result.verdict})",
             f"run folder: {result.run_dir}"]
    for outcome in result.outcomes:
        if outcome.aborted:
            lines.append(f"aborted: {outcome.reason}")
    from harness.runfolder import RunFolder  # lazy: this plugin loads in every pytest session

    folder = RunFolder(result.run_dir)
    if folder.scorecard.exists():
        card = folder.read_scorecard()
        for scen in card.scenarios:
            for rep in scen.repeats:
                for slo in rep.slos:
                    if not slo.passed:
                        lines.append(f"SLO failed: {slo.metric} in {slo.phase}: actual {slo.actual} "
                                     f"(min {slo.min}, max {slo.max})")
        if card.integrity.lost:
            lines.append(f"lost work items: {[w.workflow_id for w in card.integrity.lost]}")
    return "\n".join(lines)


def _allure_steps(run_dir: Path) -> None:
    """One Allure step per phase (with its events attached) when allure-pytest is active."""
    try:
        import allure
    except ImportError:
        return
    from harness.runfolder import RunFolder  # lazy: this plugin loads in every pytest session

    journal = RunFolder(run_dir).journal
    if not journal.exists():
        return
    phases: dict[str, list[str]] = {}
    for line in journal.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("phase") and event.get("kind") != "load_sample":
            phases.setdefault(event["phase"], []).append(line)
    for phase, lines in phases.items():
        with allure.step(f"phase {phase}"):
            allure.attach("\n".join(lines[:200]), name=f"{phase} events", attachment_type=allure.attachment_type.TEXT)


# -- fixtures for hand-written chaos tests -------------------------------------------

@pytest.fixture
def harness_system(request: pytest.FixtureRequest) -> HarnessSystem:
    """The system under test: the embedded sandbox (one per worker) or ``--harness-system``."""
    return _holder(request.config).get()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Any]:
    """A journal writer for a hand-written chaos test; read it back with ``journal.path``."""
    # lazy (here and below): this plugin loads in every pytest session
    from harness.engine.journal import JournalWriter
    from harness.runfolder import RunFolder

    with JournalWriter(RunFolder(tmp_path).journal) as writer:
        yield writer


@pytest.fixture
def inject_fault(harness_system: HarnessSystem, tmp_path: Path, journal: Any) -> Iterator[Any]:
    """``with inject_fault("latency", edge="risk", params={"latency": 300}):`` — reverted on exit, always."""
    from harness.faults.catalog import build_fault
    from harness.faults.ledger import CleanupLedger
    from harness.faults.session import FaultSession
    from harness.model.scenario import FaultSpec, FaultTarget

    counter = iter(range(10_000))
    with FaultSession(CleanupLedger(tmp_path / "ledger.jsonl")) as session:

        @contextlib.contextmanager
        def _inject(type: str, *, edge: str | None = None, service: str | None = None,
                    params: dict[str, Any] | None = None, ttl_s: float = 120.0, **extra: Any) -> Iterator[Any]:
            spec = FaultSpec(type=type, target=FaultTarget(edge=edge, service=service), params=params or {}, **extra)
            fault = build_fault(spec, harness_system.spec, fault_id=f"pytest-{next(counter)}-{type}", ttl_s=ttl_s,
                                supervisor=harness_system.supervisor)
            session.inject(fault)
            journal.emit("fault_injected", fault_id=fault.fault_id, type=type, target=edge or service,
                         params=params or {}, ttl_s=ttl_s)
            try:
                yield fault
            finally:
                session.revert(fault)
                journal.emit("fault_reverted", fault_id=fault.fault_id, ok=True)

        yield _inject
