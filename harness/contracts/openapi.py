"""OpenAPI agents: schemathesis 4 property-based tests, from the CLI or pytest.

``check_openapi`` runs ``schemathesis run`` in a subprocess (its own engine with every
phase: examples, coverage, fuzzing, stateful via links it finds or infers; positive and
negative data; all default checks: server errors, undocumented status codes, response
schema and content type conformance, negative data rejection, ...) and reads its JUnit
report: one check per operation plus the stateful suite. A failure message keeps what a
developer needs to reproduce it: the failure codes, the response, the ``curl`` command
and the seed (``--seed`` makes the run repeat the same inputs).

A subprocess rather than the in-process engine API because the CLI is schemathesis's
stable interface (its engine events are internal), and because it runs in a scratch
working directory: schemathesis leaves ``.hypothesis/`` and ``.schemathesis/`` behind.

In pytest, use schemathesis directly (see docs/contracts.md)::

    schema = schemathesis.openapi.from_url("http://127.0.0.1:8101/openapi.json")

    @schema.parametrize()
    def test_api(case):
        case.call_and_validate()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx

from harness.contracts.compat import Change
from harness.contracts.deploy import _check_openapi
from harness.contracts.diff import diff_openapi, load_doc, parse_doc
from harness.contracts.protocol import CheckOptions, ContractProtocol, InteractionCheck
from harness.contracts.results import Tally, failed_result, reason, service_problem
from harness.errors import ConfigError
from harness.model.scorecard import ContractResult
from harness.model.system import Service

PHASES = ("examples", "coverage", "fuzzing", "stateful")


def schemathesis_command() -> list[str]:
    """argv prefix that runs this environment's schemathesis CLI."""
    exe = Path(sys.executable).with_name("schemathesis")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("schemathesis")
    if found:
        return [found]
    return [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]


def document_problem(url: str, timeout: float = 10.0) -> str | None:
    """Why the OpenAPI document at ``url`` cannot be tested, or None.

    Fetched once before schemathesis runs, because schemathesis would wait for it and then
    report a service that is down as a run with no operations, which must not read as a
    pass; this names the reason in one line instead.
    """
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            resp = client.get(url)
    except httpx.HTTPError as exc:
        return f"OpenAPI document {url} unreachable: {reason(exc)}"
    if resp.status_code >= 400:
        return f"OpenAPI document {url} answered HTTP {resp.status_code}"
    try:
        doc = resp.json()
    except ValueError:
        if url.split("?")[0].endswith((".yaml", ".yml")) or "yaml" in resp.headers.get("content-type", ""):
            return None  # schemathesis parses YAML itself
        return f"OpenAPI document {url} is not JSON: {resp.text[:80]!r}"
    if not isinstance(doc, dict) or not ("openapi" in doc or "swagger" in doc):
        return f"{url} is not an OpenAPI document (no 'openapi' or 'swagger' field)"
    if not doc.get("paths"):
        return f"OpenAPI document {url} declares no paths, so there is nothing to test"
    return None



def check_openapi(location: str, *, base_url: str | None = None, edge: str = "", max_examples: int = 50,
                  seed: int = 0, phases: tuple[str, ...] = PHASES, mode: str = "all", workers: int = 1,
                  max_time: float | None = None, report_dir: str | Path | None = None,
                  exclude_checks: tuple[str, ...] = (), extra_args: tuple[str, ...] = (),
                  timeout: float = 600.0, service: str = "") -> ContractResult:
    """Run schemathesis against ``location`` (an OpenAPI URL or file; files need ``base_url``).

    ``report_dir``: where to keep ``openapi-<edge>.junit.xml`` and the console output.
    ``exclude_checks``: schemathesis check names to skip (e.g. ``allow_header_conformance``),
    for a known, accepted deviation; everything else stays on. ``service`` names the
    service in a failure that stops the suite (document unreachable, service down).
    A missing file or a file without ``base_url`` is bad input (ConfigError); a document
    or service that cannot be reached is a failed check named ``document``.
    """
    bad = [p for p in phases if p not in PHASES]
    if bad:
        raise ConfigError(f"unknown schemathesis phase(s) {bad}; valid: {', '.join(PHASES)}", field="phases")
    is_url = location.startswith(("http://", "https://"))
    if not is_url:
        path = Path(location)
        if not path.is_file():
            raise ConfigError("OpenAPI document not found", path=location)
        location = str(path.resolve())
        if not base_url:
            raise ConfigError("an OpenAPI file needs the API's base URL (--base-url)", path=location)
    tally = Tally("openapi", edge or (base_url or location))
    who = f"{service}: " if service else ""
    problem = document_problem(location) if is_url else None
    if problem is None and base_url:
        problem = service_problem(base_url)
    if problem is not None:
        tally.fail("document", who + problem)
        return tally.result()
    with tempfile.TemporaryDirectory(prefix="harness-st-") as scratch:
        junit = Path(scratch) / "junit.xml"
        argv = [*schemathesis_command(), "run", location, "-n", str(max_examples), "--seed", str(seed),
                "--phases", ",".join(phases), "-m", mode, "-w", str(workers), "--wait-for-schema", "15",
                "--report", "junit", "--report-junit-path", str(junit), *extra_args]
        if base_url:
            argv += ["-u", base_url]
        if exclude_checks:
            argv += ["--exclude-checks", ",".join(exclude_checks)]
        if max_time:
            argv += ["--max-time", str(int(max_time))]
        env = {**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
        try:
            proc = subprocess.run(argv, cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            tally.fail("schemathesis", f"did not finish within {timeout:.0f}s: {' '.join(argv)}")
            return tally.result()
        console = proc.stdout + proc.stderr
        if report_dir is not None:
            out = Path(report_dir)
            out.mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in tally.edge)
            (out / f"openapi-{safe}.txt").write_text(console, encoding="utf-8")
            if junit.exists():
                shutil.copy(junit, out / f"openapi-{safe}.junit.xml")
        if not junit.exists():
            tail = "\n".join(console.strip().splitlines()[-8:])
            tally.fail("schemathesis", f"no report (exit {proc.returncode}): {tail}")
            return tally.result()
        _read_junit(junit, tally, location, seed)
        if proc.returncode != 0 and tally.failed == 0:
            tail = "\n".join(console.strip().splitlines()[-8:])
            tally.fail("schemathesis", f"{who}schemathesis exited {proc.returncode} without a failing "
                                       f"operation in its report: {tail}")
    return tally.result()


def _read_junit(path: Path, tally: Tally, location: str, seed: int) -> None:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        tally.fail("schemathesis", f"unreadable JUnit report: {exc}")
        return
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        problems = [el for el in case if el.tag in ("failure", "error")]
        if not problems:
            if not any(el.tag == "skipped" for el in case):
                tally.ok(name)
            continue
        for el in problems:
            text = (el.text or "").strip()
            codes = el.get("message", "")
            tally.fail(name, f"{codes}: {text}\n(reproduce the whole run: schemathesis run {location} "
                             f"--seed {seed})")


class OpenApiProtocol(ContractProtocol):
    """REST services with an ``openapi_url``: schemathesis property tests, document diff,
    can-i-deploy against recorded HTTP interactions."""

    name = "openapi"
    summary = "REST services' OpenAPI documents: schemathesis property tests (needs an openapi_url)"
    speaks = ("rest",)
    requires = "an openapi_url"
    needs = "a service with an openapi_url"
    contract = "OpenAPI document"
    baseline = ("openapi", "json")

    def covers(self, service: Service) -> bool:
        return service.protocol in self.speaks and bool(service.openapi_url)

    def check(self, service: Service, edge: str, options: CheckOptions, baseline: Any) -> ContractResult:
        _ = baseline  # schemathesis checks the live document itself; diff compares baselines
        location = service.openapi_url or ""
        is_url = location.startswith(("http://", "https://"))
        try:
            return check_openapi(location, base_url=None if is_url else service.base_url, edge=edge,
                                 max_examples=options.openapi_examples, seed=options.seed,
                                 report_dir=options.report_dir, exclude_checks=options.exclude_checks,
                                 service=service.name)
        except ConfigError as exc:  # a missing document file: this service fails, the others still run
            return failed_result(self.name, edge, "document", f"{service.name}: OpenAPI document {exc}")

    def fetch_contract(self, service: Service, client: httpx.Client, timeout: float) -> tuple[Any, str | None]:
        url = service.openapi_url or ""
        if not url.startswith(("http://", "https://")):
            try:
                return load_doc(url), None
            except ConfigError as exc:
                return None, f"OpenAPI document {exc}"
        problem = document_problem(url, timeout)
        if problem is not None:
            return None, problem
        try:
            return parse_doc(client.get(url).text, url), None
        except (httpx.HTTPError, ConfigError) as exc:
            return None, f"OpenAPI document {url} is unusable: {exc}"

    def detect(self, doc: Any) -> bool:
        return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc)

    def diff(self, old: Any, new: Any) -> list[Change]:
        return diff_openapi(old, new)

    def interaction_check(self, new_doc: Any) -> InteractionCheck:
        return lambda where, req, resp: _check_openapi(new_doc, where, req, resp)
