"""Usage errors on any command: one clear message, exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args, expected", [
    (["run", "--repeats", "0"], "Invalid value for '--repeats'"),
    (["run", "--bogus"], "No such option: --bogus"),
    (["gate"], "Missing argument"),
    (["run", "missing.yaml"], "missing.yaml: file not found"),
    (["run", "--contracts", "grpc", "missing.yaml"], "file not found"),
    (["sandbox", "up", "--defect", "no_such_defect", "--state-dir", "/nonexistent/x"], "no_such_defect"),
])
def test_usage_errors_exit_2_without_traceback(args: list[str], expected: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert expected in out and "Traceback" not in out, out
