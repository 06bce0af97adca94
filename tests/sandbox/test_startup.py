"""Start-up edge cases of ``Sandbox.up``."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.sandbox import Sandbox, SandboxClient, make_claim
from harness.sandbox import sandbox as sandbox_module
from harness.system.ports import free_ports

pytestmark = pytest.mark.slow


def test_port_taken_between_choice_and_bind_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # free_ports() races with other processes; simulate losing the race by handing out a
    # port we hold (a double for the kernel's choice, since a real race cannot be forced).
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    calls = []

    def racy(count: int, host: str = "127.0.0.1") -> list[int]:
        ports = free_ports(count, host)
        calls.append(count)
        if len(calls) == 1:
            ports[1] = taken  # the intake agent's port
        return ports

    monkeypatch.setattr(sandbox_module, "free_ports", racy)
    try:
        with Sandbox(tmp_path, with_proxy=False) as sb:
            assert len(calls) == 2
            assert sb.urls["intake"] != f"http://127.0.0.1:{taken}"
            client = SandboxClient(sb.urls, sb.state_dir)
            assert client.wait(client.submit(make_claim(10.0)))["state"] == "SUCCESS"
            client.close()
    finally:
        squatter.close()


def test_second_up_in_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    with Sandbox(tmp_path, with_proxy=False), pytest.raises(ConfigError, match="already up"):
        Sandbox(tmp_path, with_proxy=False).up()
