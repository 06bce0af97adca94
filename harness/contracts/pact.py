"""Recorded traffic -> Pact V4 files (pact-python), and provider verification.

Generation: every distinct request shape (method, path template, JSON-RPC method, MCP
tool, response status) of one consumer -> provider pair becomes one interaction. The
request is the first recorded sample (so verification replays a real call); the response
body gets matchers instead of literals:

- strings that are UUIDs or ISO-8601 timestamps: a regex;
- short word-like strings that took at most 3 values over 2+ samples (states, decisions,
  enums): a regex of exactly those values (``^(approve|review)$``), so a provider that
  starts answering something new is caught;
- other scalars: a type matcher (``match.like``); arrays: ``match.each_like`` of their
  first element; ``null`` and ``jsonrpc`` stay literal.

Consumer = the edge's caller, provider = its callee, looked up by the proxy name in
``system.yaml`` (``edges[].proxy``); without a system, the proxy name is the provider.

Verification uses pact-python's ``Verifier`` against the live provider. Provider states
go to the service's ``provider_states_url`` if system.yaml declares one (pact's state
change request: ``{"state", "params", "action"}``), else to a no-op handler. Mismatches
are reported one per line with interaction, field path, expected and actual.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.contracts.compat import Change
from harness.contracts.diff import diff_pacts
from harness.contracts.protocol import CheckOptions, ContractProtocol
from harness.contracts.results import Tally, failed_result, service_problem
from harness.contracts.traffic import KEEP_REQUEST_HEADERS, Exchange, Shape, group_shapes, read_exchanges
from harness.errors import ConfigError
from harness.model.scorecard import ContractResult
from harness.model.system import SystemSpec

UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"
_WORDLIKE = re.compile(r"^[A-Za-z][A-Za-z_ -]{0,39}$")
_LITERAL_KEYS = frozenset({"jsonrpc", "method"})  # JSON-RPC envelope: exact


# --------------------------------------------------------------------------- matchers


def _collect(value: Any, path: str, into: dict[str, list[Any]]) -> None:
    into.setdefault(path, []).append(value)
    if isinstance(value, dict):
        for k, v in value.items():
            _collect(v, f"{path}.{k}", into)
    elif isinstance(value, list):
        for item in value:
            _collect(item, f"{path}[*]", into)


def _string_matcher(value: str, seen: list[Any], samples: int) -> Any:
    from pact import match

    if re.match(UUID_RE, value):
        return match.regex(value, regex=UUID_RE)
    if re.match(TIMESTAMP_RE, value):
        return match.regex(value, regex=TIMESTAMP_RE)
    distinct = sorted({v for v in seen if isinstance(v, str)})
    if samples >= 2 and len(seen) >= 2 and all(isinstance(v, str) for v in seen) \
            and len(distinct) <= 3 and all(_WORDLIKE.match(v) for v in distinct):
        return match.regex(value, regex="^(" + "|".join(re.escape(v) for v in distinct) + ")$")
    return match.like(value)


def with_matchers(value: Any, stats: dict[str, list[Any]], samples: int, path: str = "$") -> Any:
    """``value`` (the first sample) with pact matchers where recorded values may vary."""
    from pact import match

    if isinstance(value, dict):
        return {k: v if k in _LITERAL_KEYS else with_matchers(v, stats, samples, f"{path}.{k}")
                for k, v in value.items()}
    if isinstance(value, list):
        if not value:
            return match.like([])
        return match.each_like(with_matchers(value[0], stats, samples, f"{path}[*]"), min=1)
    if value is None:
        return None
    if isinstance(value, str):
        return _string_matcher(value, stats.get(path, []), samples)
    return match.like(value)


# --------------------------------------------------------------------------- generation


def edge_names(system: SystemSpec | None) -> dict[str, tuple[str, str]]:
    """proxy name -> (consumer, provider) from system.yaml's edges."""
    out: dict[str, tuple[str, str]] = {}
    for edge in system.edges if system else []:
        if edge.proxy:
            out[edge.proxy] = (edge.caller, edge.callee)
    return out


def _find(value: Any, target: str, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """JSON path (tuple of keys/indexes) of the first leaf equal to ``target``."""
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return path if value == target else None
    for key, child in items:
        found = _find(child, target, (*path, key))
        if found is not None:
            return found
    return None


def _setup_call(exchanges: Sequence[Exchange], sample: Exchange, ident: str) -> dict[str, Any] | None:
    """The recorded POST/PUT that first answered with ``ident`` (the call that created the
    resource), as state params a state handler can replay to re-create it."""
    for ex in exchanges:
        if ex is sample:
            break
        if ex.proxy == sample.proxy and ex.method in ("POST", "PUT") and ex.status < 300:
            where = _find(ex.resp_body, ident)
            if where is not None:
                headers = {k: v for k, v in ex.req_headers.items()
                           if k in KEEP_REQUEST_HEADERS and v != "[REDACTED]"}
                return {"method": ex.method, "path": ex.path, "headers": headers, "body": ex.req_body,
                        "id_path": list(where)}
    return None


def provider_state(shape: Shape, exchanges: Sequence[Exchange] = ()) -> tuple[str, dict[str, Any], str | None]:
    """A provider-state name, its params, and where the state's ``id`` is injected
    (``"body"``: JSON-RPC ``params.id``; ``"path"``; or None).

    When the recording holds the call that created the referenced resource (a task, an
    order), it goes into the params as ``setup`` so the harness's default state handler
    can replay it and hand the *new* id back to the verifier (provider-state injection).
    """
    sample = shape.samples[0]
    ident: str | None = None
    name, where = f"{shape.proxy} is available", None
    if shape.rpc_method and isinstance(sample.req_body, dict):
        params = sample.req_body.get("params")
        if shape.rpc_method in ("GetTask", "CancelTask") and isinstance(params, dict) \
                and isinstance(params.get("id"), str):
            ident, name, where = params["id"], f"task {params['id']} exists", "body"
    elif shape.template.count("{id}") == 1:
        real, tmpl = sample.path.split("/"), shape.template.split("/")
        i = tmpl.index("{id}")
        ident, where = real[i], "path"
        name = f"{tmpl[i - 1] or 'resource'} {ident} exists"
    if ident is None:
        return name, {}, None
    params: dict[str, Any] = {"id": ident}
    setup = _setup_call(exchanges, sample, ident)
    if setup:
        params["setup"] = setup
    return name, params, where


def _ctype(headers: dict[str, str], body: Any) -> str:
    ctype = headers.get("content-type", "")
    if ctype:
        return ctype.split(";")[0].strip()
    return "application/json" if isinstance(body, dict | list) else "text/plain"


def _add_interaction(pact: Any, shape: Shape, exchanges: Sequence[Exchange]) -> None:
    from pact import generate, match

    first: Exchange = shape.samples[0]
    n = len(shape.samples)
    state, params, inject = provider_state(shape, exchanges)
    inter = pact.upon_receiving(shape.description).given(state, params) if params else \
        pact.upon_receiving(shape.description).given(state)
    if inject == "path":
        expression = "/".join("${id}" if seg == "{id}" else seg for seg in shape.template.split("/"))
        inter = inter.with_request(first.method, match.type(first.path, generator=generate.provider_state(
            expression)))
    elif shape.template != first.path:
        regex = "^" + "/".join("[^/]+" if seg == "{id}" else re.escape(seg)
                               for seg in shape.template.split("/")) + "$"
        inter = inter.with_request(first.method, match.regex(first.path, regex=regex))
    else:
        inter = inter.with_request(first.method, first.path)
    for name, values in first.query.items():
        for value in values:
            inter = inter.with_query_parameter(name, value)
    for name in KEEP_REQUEST_HEADERS:
        if name in first.req_headers and name != "content-type" and first.req_headers[name] != "[REDACTED]":
            inter = inter.with_header(name, first.req_headers[name])
    if first.req_body is not None:
        body = first.req_body
        if isinstance(body, dict | list):
            bodies = [s.req_body for s in shape.samples]
            if any(b != body for b in bodies):
                stats: dict[str, list[Any]] = {}
                for b in bodies:
                    _collect(b, "$", stats)
                body = with_matchers(body, stats, n)
        if inject == "body" and isinstance(body, dict) and isinstance(body.get("params"), dict):
            ident = first.req_body["params"]["id"]
            body = {**body, "params": {**body["params"], "id": match.type(
                ident, generator=generate.provider_state("${id}"))}}
        inter = inter.with_body(body, content_type=_ctype(first.req_headers, first.req_body))
    inter = inter.will_respond_with(shape.status)
    if first.resp_body is not None:
        stats = {}
        for s in shape.samples:
            _collect(s.resp_body, "$", stats)
        body = with_matchers(first.resp_body, stats, n) if isinstance(first.resp_body, dict | list) \
            else first.resp_body
        inter.with_body(body, content_type=_ctype(first.resp_headers, first.resp_body))


def generate_pacts(recordings: Sequence[str | Path], out_dir: str | Path, *, system: SystemSpec | None = None,
                   consumer: str | None = None, provider: str | None = None) -> list[Path]:
    """Write one Pact V4 file per (consumer, provider) seen in ``recordings``; return their paths.

    ``consumer``/``provider`` override the names for every exchange (handy for a HAR file
    or a single-edge recording without a system.yaml).
    """
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    from pact import Pact

    exchanges = read_exchanges(recordings, har_provider=provider)
    if not exchanges:
        raise ConfigError("no usable exchanges (none recorded, or all altered by faults / failed)",
                          path=", ".join(map(str, recordings)))
    names = edge_names(system)
    pacts: dict[tuple[str, str], Any] = {}
    for shape in group_shapes(exchanges):
        cons, prov = names.get(shape.proxy, (consumer or "consumer", shape.proxy))
        key = (consumer or cons, provider or prov)
        if key not in pacts:
            pacts[key] = Pact(*key).with_specification("V4")
        _add_interaction(pacts[key], shape, exchanges)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for (cons, prov), pact in pacts.items():
        pact.write_file(out, overwrite=True)
        written.append(out / f"{cons}-{prov}.json")
    return written


# --------------------------------------------------------------------------- verification


def pact_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to their ``*.json`` pact files."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(p.glob("*.json")))
        elif p.exists():
            out.append(p)
        else:
            raise ConfigError("pact file or directory not found", path=str(p))
    return out


def providers_of(files: Iterable[Path]) -> dict[str, list[Path]]:
    """provider name -> the pact files that name it."""
    out: dict[str, list[Path]] = {}
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            name = doc["provider"]["name"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"not a pact file: {exc}", path=str(f)) from None
        out.setdefault(str(name), []).append(f)
    return out


def _describe(error: dict[str, Any]) -> list[str]:
    """One line per mismatch of one failed interaction in ``Verifier.results``."""
    mismatch = error.get("mismatch") or {}
    items = mismatch.get("mismatches") if isinstance(mismatch, dict) else None
    if not items:
        text = mismatch.get("message") if isinstance(mismatch, dict) else None
        return [str(text or mismatch or "failed")]
    lines = []
    for m in items:
        kind, path = m.get("type", "Mismatch"), m.get("path", "")
        where = f" at {path}" if path else ""
        detail = m.get("mismatch") or ""
        exp, act = m.get("expected"), m.get("actual")
        extra = f" (expected {exp}, actual {act})" if exp is not None or act is not None else ""
        lines.append(f"{kind}{where}: {detail}{extra}")
    return lines


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """The Pact FFI prints its whole report to file descriptor 1; we report mismatches
    ourselves (and ``Verifier.output()`` keeps the text), so park fd 1 meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def verify_provider(provider: str, base_url: str, pacts: Sequence[Path], *, edge: str = "",
                    state_url: str | None = None, headers: dict[str, str] | None = None) -> ContractResult:
    """Verify the live provider at ``base_url`` against ``pacts`` (files naming it)."""
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")  # offline: no usage pings from the FFI
    from pact import Verifier

    tally = Tally("pact", edge or provider)
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    total = sum(len(json.loads(p.read_text(encoding="utf-8")).get("interactions", [])) for p in pacts)
    verifier = Verifier(provider, host=parts.hostname or "127.0.0.1")
    for p in pacts:
        verifier.add_source(p)
    verifier.add_transport(url=origin).set_coloured_output(enabled=False)
    for name, value in (headers or {}).items():
        verifier.add_custom_header(name, value)
    with contextlib.ExitStack() as stack:
        if not state_url:
            from harness.contracts.states import state_server

            state_url = stack.enter_context(state_server(base_url))
        verifier.state_handler(state_url, teardown=False, body=True)
        with _quiet_stdout():
            try:
                verifier.verify()
            except RuntimeError:
                pass  # details are in .results; the exception message has none
    results = verifier.results
    errors = results.get("errors") or []
    by_interaction: dict[str, list[str]] = {}
    for err in errors:
        name = str(err.get("interaction", "?"))
        if name.startswith("Verifying a pact between") and " - " in name:
            err = {**err, "interaction": name.rsplit(" - ", 1)[1]}  # keep just our description
        by_interaction.setdefault(str(err["interaction"]), []).extend(_describe(err))
    for name, lines in by_interaction.items():
        tally.fail(f"pact[{name}]", "; ".join(lines))
    tally.passed = max(total - len(by_interaction), 0)
    if results.get("result") is False and not errors:
        tally.fail("pact", "verification failed without mismatch details: " + verifier.output(strip_ansi=True)[-500:])
    return tally.result()


def verify_pacts(system: SystemSpec, pacts: Sequence[str | Path], *,
                 services: Sequence[str] | None = None) -> list[ContractResult]:
    """Verify every provider named in ``pacts`` (files or directories) against ``system``;
    a provider that is down fails once, naming it and the reason."""
    existing = [p for p in pacts if Path(p).exists()]
    if not existing:
        return []
    results = []
    for provider, files in providers_of(pact_files(existing)).items():
        if services is not None and provider not in services:
            continue
        consumers = sorted({json.loads(f.read_text(encoding="utf-8"))["consumer"]["name"] for f in files})
        edge = ",".join(f"{c}->{provider}" for c in consumers)
        try:
            svc = system.service(provider)
        except KeyError:
            tally = Tally("pact", edge)
            tally.fail("provider", f"pact provider {provider!r} is not a service in system.yaml "
                                   f"(known: {sorted(s.name for s in system.services)})")
            results.append(tally.result())
            continue
        down = service_problem(svc.base_url)
        if down is not None:  # one clear line instead of one "error sending request" per interaction
            results.append(failed_result("pact", edge, "service", f"{provider}: {down}"))
            continue
        results.append(verify_provider(provider, svc.base_url, files, edge=edge,
                                       state_url=svc.provider_states_url))
    return results


class PactProtocol(ContractProtocol):
    """Consumer pacts (generated from recorded traffic) verified against their providers; it
    checks per provider named in the pact files, not per service, and has no live document."""

    name = "pact"
    summary = "Pact V4 files generated from recorded traffic, verified against each provider (pact-python)"
    needs = "pact files"
    contract = "Pact file"

    def covers(self, service: Any) -> bool:
        _ = service
        return False

    def check_system(self, system: SystemSpec, options: CheckOptions) -> list[tuple[set[str], ContractResult]]:
        return [({part.split("->")[-1] for part in result.edge.split(",")}, result)
                for result in verify_pacts(system, options.pact_sources(), services=options.services)]

    def nothing_chosen(self, options: CheckOptions) -> str:
        where = ", ".join(map(str, options.pact_sources()))
        return f"no pact files naming a service of system.yaml in {where}"

    def detect(self, doc: Any) -> bool:
        return isinstance(doc, dict) and "interactions" in doc and "consumer" in doc and "provider" in doc

    def diff(self, old: Any, new: Any) -> list[Change]:
        return diff_pacts(old, new)
