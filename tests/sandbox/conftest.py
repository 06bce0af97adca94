"""Fixtures that start real sandboxes (real processes on free loopback ports).

``sandbox``: one healthy sandbox per test module (start-up costs seconds).
``sandbox_factory``: start a sandbox with chosen defects/settings for one test; every
sandbox it made is stopped at teardown, so no process outlives the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.sandbox import Resilience, Sandbox, SandboxClient

#: small timeouts and backoffs so a failing agent shows its effect within a couple of seconds
FAST = Resilience(timeout_s=2.0, max_attempts=3, backoff_base_s=0.05, backoff_max_s=0.5, breaker_threshold=5,
                  breaker_cooldown_s=0.5, approval_retry_s=0.2, approval_deadline_s=60.0, storm_attempts=12)

SandboxFactory = Callable[..., tuple[Sandbox, SandboxClient]]


def start_sandbox(state_dir: Path, defects: tuple[str, ...] = (), with_proxy: bool = False,
                  **resilience: Any) -> tuple[Sandbox, SandboxClient]:
    sb = Sandbox(state_dir, defects=defects, with_proxy=with_proxy,
                 resilience=FAST.model_copy(update=resilience)).up()
    return sb, SandboxClient(sb.urls, sb.state_dir)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb, client = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield sb
    finally:
        client.close()
        sb.down()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[SandboxClient]:
    """A client for the shared sandbox; heals every agent afterwards so tests stay independent."""
    c = SandboxClient(sandbox.urls, sandbox.state_dir)
    try:
        yield c
    finally:
        for agent in ("intake", "risk", "approval", "payout", "notify"):
            if sandbox.supervisor.is_running(agent):
                c.heal(agent)
        c.close()


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[SandboxFactory]:
    made: list[tuple[Sandbox, SandboxClient]] = []

    def make(*defects: str, with_proxy: bool = False, **resilience: Any) -> tuple[Sandbox, SandboxClient]:
        pair = start_sandbox(tmp_path / f"sb{len(made)}", defects, with_proxy, **resilience)
        made.append(pair)
        return pair

    try:
        yield make
    finally:
        for sb, c in made:
            c.close()
            sb.down()
