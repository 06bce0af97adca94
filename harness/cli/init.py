"""``harness init``: a starter ``system.yaml`` and two scenarios from a running system.

For every ``--url`` it looks for a health endpoint and an OpenAPI document (the paths
FastAPI, Flask-style apps and most agents serve), names the service after the document's
``info.title`` (else ``host-port``), treats the first URL as the orchestrator, and
proposes an edge from it to every agent through the embedded proxy on free loopback
ports. The services are marked ``external: true`` (the user runs them). What cannot be
discovered (workflow API, spans, audit, side effects, policies) is left as comments for
the user to fill in (docs/system.md). The written files pass ``harness validate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from harness.errors import ConfigError

HEALTH_PATHS = ("/health", "/healthz", "/livez", "/")
OPENAPI_PATHS = ("/openapi.json", "/docs/openapi.json", "/swagger.json")

console = Console(highlight=False, soft_wrap=True)


@dataclass
class Found:
    """What discovery learnt about one URL."""

    url: str
    name: str
    health_url: str | None
    openapi_url: str | None


def _name(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text.strip()).strip("-").lower()
    return cleaned or "service"


def discover(url: str, *, timeout: float = 3.0) -> Found:
    """Probe ``url`` for health and OpenAPI; an unreachable URL is a ``ConfigError``."""
    import httpx

    base = url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--url must be an http(s) URL, got {url!r}", field="--url")
    health = openapi = None
    title: str | None = None
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        try:
            client.get(base + "/")
        except httpx.HTTPError as exc:
            raise ConfigError(f"{url} unreachable: {exc.__class__.__name__}: {exc}; start the service first",
                              field="--url") from None
        for path in HEALTH_PATHS:
            try:
                if client.get(base + path).status_code < 400:
                    health = base + path
                    break
            except httpx.HTTPError:
                continue
        for path in OPENAPI_PATHS:
            try:
                resp = client.get(base + path)
                doc = resp.json() if resp.status_code < 400 else None
            except (httpx.HTTPError, ValueError):
                continue
            if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc):
                openapi = base + path
                title = str((doc.get("info") or {}).get("title") or "") or None
                break
    name = _name(title) if title else _name(f"{parts.hostname}-{parts.port or ''}")
    return Found(url=base, name=name, health_url=health, openapi_url=openapi)


def _unique(found: list[Found]) -> None:
    seen: dict[str, int] = {}
    for f in found:
        if f.name in seen:
            seen[f.name] += 1
            f.name = f"{f.name}-{seen[f.name]}"
        else:
            seen[f.name] = 1


def system_yaml(name: str, found: list[Found], listen_ports: list[int], api_port: int) -> str:
    """The starter file, as text so it can carry comments for the user."""
    lines = [
        f"# written by harness init from {', '.join(f.url for f in found)}",
        "# reference of every field: docs/system.md",
        f"name: {name}",
        "safety: {environment: staging, allow_targets: []}   # add non-loopback hosts you allow",
        f'proxy: {{api_url: "http://127.0.0.1:{api_port}", embedded: true}}',
        "services:",
    ]
    for i, f in enumerate(found):
        lines += [f"  - name: {f.name}", f"    kind: {'orchestrator' if i == 0 else 'agent'}",
                  "    protocol: rest", f"    base_url: {f.url}"]
        if f.health_url:
            lines.append(f"    health_url: {f.health_url}")
        if f.openapi_url:
            lines.append(f"    openapi_url: {f.openapi_url}")
        lines.append("    external: true              # or start: {command: [...]} to let the harness run it")
    if len(found) > 1:
        lines += ["edges:   # point the orchestrator at each 'listen' address so faults reach the traffic"]
        for f, port in zip(found[1:], listen_ports, strict=True):
            up = urlsplit(f.url)
            lines.append(f'  - {{caller: {found[0].name}, callee: {f.name}, proxy: {f.name}, '
                         f'listen: "127.0.0.1:{port}", upstream: "{up.hostname}:{up.port or 80}"}}')
    lines += [
        "# workflow:            # how to submit one unit of work and poll it (needed for load)",
        f"#   submit_url: {found[0].url}/TODO",
        '#   body: {id: "item-{uuid}-{n}"}',
        "#   id_pointer: /id",
        f"#   status_url: {found[0].url}/TODO/{{id}}",
        "#   state_pointer: /state",
        "#   done_states: [DONE]",
        "# traces: {jsonl: spans.jsonl}     # where spans land (docs/telemetry.md)",
        "# audit: {jsonl: audit.jsonl}      # where audit events land",
        "# side_effects:                    # what must happen at most once per key (integrity)",
        "#   - {audit_event: TODO_event_name, key: /TODO_business_key}",
        "# policies: {files: [policies.cedar]}   # Cedar policies (policy adherence)",
    ]
    return "\n".join(lines) + "\n"


def scenarios(found: list[Found], agent_listen_port: int) -> dict[str, str]:
    """Two starter scenarios against the first agent's edge: latency, then the agent down.

    Probes: the orchestrator's health, and the agent's health *through its proxy*, so the
    fault shows in the steady state even before the user adds load (which needs the
    workflow section) and SLOs on it."""
    orch, agent = found[0], found[1]
    orch_path = urlsplit(orch.health_url or orch.url + "/").path or "/"
    agent_path = urlsplit(agent.health_url or agent.url + "/").path or "/"
    common = [
        "phases: {baseline: 5s, inject: 10s, recover: 10s}", "stable_for: 2s", "steady_state:",
        f"  - {{type: http, name: {orch.name}-health, service: {orch.name}, path: {orch_path}, interval_s: 250ms}}",
        f'  - {{type: http, name: {agent.name}-via-proxy, url: "http://127.0.0.1:{agent_listen_port}{agent_path}",'
        " interval_s: 250ms, timeout_s: 1s}",
        "# load: {users: 4, spawn_rate: 4}   # needs system.yaml's workflow section; then add SLOs, e.g.",
        "# slos: [{metric: availability, phase: recover, min: 0.95}]",
    ]
    return {
        f"{agent.name}-latency.yaml": "\n".join([
            f"title: {agent.name} answers 300 ms slower", "weight: 5", *common, "faults:",
            f"  - {{type: latency, target: {{edge: {agent.name}}}, params: {{latency: 300}}}}"]) + "\n",
        f"{agent.name}-down.yaml": "\n".join([
            f"title: {agent.name} refuses connections for 5 s", "weight: 7", *common, "faults:",
            f"  - {{type: down, target: {{edge: {agent.name}}}, duration_s: 5}}"]) + "\n",
    }


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_cmd(
        url: list[str] = typer.Option(..., "--url", help="a running service; the first is the orchestrator"),
        name: str = typer.Option("my-system", "--name", help="the system's name"),
        out: Path = typer.Option(Path("."), "--out", help="folder for system.yaml and scenarios/"),
        force: bool = typer.Option(False, "--force", help="overwrite existing files"),
    ) -> None:
        """Write a starter system.yaml and two scenarios from running services (health/OpenAPI discovery)."""
        from harness.system.ports import free_ports

        if len(url) < 2:
            raise ConfigError("give the orchestrator and at least one agent: --url ORCH --url AGENT",
                              field="--url")
        found = [discover(u) for u in url]
        _unique(found)
        ports = free_ports(len(found))
        files = {out / "system.yaml": system_yaml(name, found, ports[1:], ports[0])}
        starters = scenarios(found, ports[1])
        files |= {out / "scenarios" / fname: text for fname, text in starters.items()}
        existing = [str(p) for p in files if p.exists()]
        if existing and not force:
            raise ConfigError(f"{', '.join(existing)} already exist; pass --force to overwrite", field="--out")
        table = Table(show_header=True, header_style="bold", box=None)
        for col in ("service", "url", "health", "OpenAPI"):
            table.add_column(col)
        for f in found:
            table.add_row(f.name, f.url, f.health_url or "-", f.openapi_url or "-")
        console.print(table)
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            console.print(f"wrote {path}")
        system = out / "system.yaml"
        console.print(f"next: fill in the commented sections (docs/system.md), then\n"
                      f"  harness validate {system} {out / 'scenarios'}/*.yaml\n"
                      f"  harness run {out / 'scenarios' / next(iter(starters))} --system {system}")

    _ = init_cmd
