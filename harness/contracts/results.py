"""Collecting contract checks into ``ContractResult`` rows and writing ``contracts.json``.

Every suite (a protocol of ``harness.contracts.catalog``, or ``diff``) reports through a ``Tally``: one per
edge/provider, counting passed checks and keeping each failure with a message precise
enough to act on (field path, expected vs actual, a reproducer). The scorer copies
``contracts.json`` from the run folder into the scorecard, so the report and the gate
see contract results next to the chaos scores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import HarnessError
from harness.jsontools import write_atomic
from harness.model.scorecard import ContractCheck, ContractResult

Suite = str  # a protocol name of harness.contracts.catalog, or "diff"
CONTRACTS_FILE = "contracts.json"
# A failing property test can produce hundreds of near-identical failures; the
# scorecard keeps the first ones per edge (the count stays exact).
MAX_FAILURES_KEPT = 50


@dataclass
class Tally:
    """Mutable accumulator for one suite x edge; ``result()`` freezes it."""

    suite: Suite
    edge: str
    passed: int = 0
    failed: int = 0
    failures: list[ContractCheck] = field(default_factory=list)
    breaking_changes: list[str] = field(default_factory=list)
    _repeats: dict[str, int] = field(default_factory=dict)

    def ok(self, name: str) -> None:
        _ = name
        self.passed += 1

    def fail(self, name: str, message: str) -> None:
        """Count a failure; keep the first message per check name (generated inputs repeat
        the same failure with different data, and one reproducer is what a reader needs)."""
        self.failed += 1
        if any(f.name == name for f in self.failures):
            self._repeats[name] = self._repeats.get(name, 0) + 1
        elif len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append(ContractCheck(name=name, passed=False, message=message))

    def check(self, name: str, condition: bool, message: str) -> bool:
        """Record ``condition`` as one check; ``message`` explains a failure."""
        if condition:
            self.ok(name)
        else:
            self.fail(name, message)
        return condition

    def result(self) -> ContractResult:
        failures = [
            f.model_copy(update={"message": f"{f.message} (+{self._repeats[f.name]} more like this)"})
            if self._repeats.get(f.name) else f
            for f in self.failures
        ]
        return ContractResult(suite=self.suite, edge=self.edge, passed=self.passed, failed=self.failed,
                              breaking_changes=list(self.breaking_changes), failures=failures)


class ContractsUnavailable(HarnessError):
    """A contract could not be fetched (service down, document unparsable): one line, exit 1,
    because the input was fine and the system is what failed. ``written`` keeps what was
    saved before the failure, so a caller can still report it."""

    exit_code = 1

    def __init__(self, message: str, *, written: list[Path] | None = None) -> None:
        super().__init__(message)
        self.written = list(written or [])


def reason(exc: BaseException) -> str:
    """A short, human reason for a failed HTTP exchange ("connection refused", "timed out"),
    so the console line says what happened instead of an exception's repr."""
    text = str(exc)
    low = text.lower()
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if "connection refused" in low or "connect call failed" in low:
        return "connection refused"
    if any(s in low for s in ("name or service not known", "nodename nor servname", "getaddrinfo",
                              "temporary failure in name resolution")):
        return "host name not resolved"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP exchange ({text or type(exc).__name__})"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def service_problem(base_url: str, timeout: float = 10.0) -> str | None:
    """Why the API at ``base_url`` cannot be reached, or None (any HTTP answer means it is up).
    Needed when the document is a file: the file is readable although the service is down."""
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            client.get(base_url)
    except httpx.HTTPError as exc:
        return f"service {base_url} unreachable: {reason(exc)}"
    return None


def failed_result(suite: Suite, edge: str, name: str, message: str) -> ContractResult:
    """A result of one failed check: what a suite reports when it could not test at all."""
    tally = Tally(suite, edge)
    tally.fail(name, message)
    return tally.result()


def require_checks(result: ContractResult, who: str = "") -> ContractResult:
    """``result``, or a failure if it counted no check at all: a suite that measured nothing
    has not shown that the contract holds, so it must not read as a pass."""
    if result.passed or result.failed or result.breaking_changes:
        return result
    prefix = f"{who}: " if who else ""
    return failed_result(result.suite, result.edge, "no checks",
                         f"{prefix}the {result.suite} suite ran no checks (is the service up and its "
                         "contract non-empty? the suite's own output is in the run folder)")


def all_passed(results: Iterable[ContractResult]) -> bool:
    """True when there are results, every one ran a check, and none has a failed check or a
    breaking change. No results at all is not a pass: nothing was shown to hold."""
    rows = list(results)
    return bool(rows) and all(r.failed == 0 and not r.breaking_changes and (r.passed or r.failed)
                              for r in rows)


def write_results(results: Iterable[ContractResult], run_dir: str | Path) -> Path:
    """Write ``contracts.json`` (a JSON list of ContractResult) into ``run_dir``."""
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CONTRACTS_FILE
    payload = [r.model_dump(mode="json") for r in results]
    return write_atomic(path, json.dumps(payload, indent=2) + "\n")


def read_results(path: str | Path) -> list[ContractResult]:
    """Read a ``contracts.json`` (a file, or a run folder containing one)."""
    p = Path(path)
    if p.is_dir():
        p = p / CONTRACTS_FILE
    return [ContractResult.model_validate(item) for item in json.loads(p.read_text(encoding="utf-8"))]
