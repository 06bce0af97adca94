"""``harness proxy serve`` and ``python -m harness.proxy``: start, populate, stop, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.system.ports import free_port


def test_serve_with_config_and_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "toxiproxy.json"
    upstream = free_port()
    config.write_text(json.dumps([{"name": "svc", "upstream": f"127.0.0.1:{upstream}",
                                   "listen": "127.0.0.1:0"}]))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "proxy", "serve", "--port", str(port),
                             "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "populated 1 proxies" in proc.stdout.readline()
        assert proc.stdout.readline().strip() == f"harness proxy API listening on http://127.0.0.1:{port}"
        proxies = httpx.get(f"http://127.0.0.1:{port}/proxies").json()
        assert proxies["svc"]["upstream"] == f"127.0.0.1:{upstream}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=30)


@pytest.mark.slow
def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "x"}]')
    cases = [
        _run("harness", "proxy", "serve", "--port", str(free_port()), "--config", str(bad)),
        _run("harness", "proxy", "serve", "--port", str(free_port()), "--config", str(tmp_path / "none.json")),
        _run("harness", "proxy", "serve", "--host", "0.0.0.0"),
        _run("harness.proxy", "--host", "0.0.0.0", "--port", "0"),
        _run("harness.proxy", "--port", str(free_port()), "--config", str(bad)),
    ]
    for result in cases:
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "missing required field: upstream" in cases[0].stderr
    assert str(bad) in cases[0].stderr
    assert "0.0.0.0" in cases[2].stderr


def test_port_in_use_is_a_clean_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        result = _run("harness.proxy", "--port", str(sock.getsockname()[1]))
    assert result.returncode == 2 and "cannot listen" in result.stderr and "Traceback" not in result.stderr
