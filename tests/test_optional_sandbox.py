"""The sandbox's dependencies (dbos, fastapi) are the optional ``sandbox`` extra: product code
imports and runs without them, and what needs the sandbox says how to install it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter where dbos and fastapi cannot be imported, as after `pip install harness`.
BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = ("dbos", "fastapi")

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
""")

PRODUCT_MODULES = [
    "harness", "harness.cli", "harness.pytest_plugin", "harness.engine.run", "harness.engine.scenario_runner",
    "harness.system.target", "harness.system.launch", "harness.faults.catalog",
    "harness.faults.ledger", "harness.faults.session",
    "harness.proxy.server", "harness.proxy.api", "harness.load", "harness.scoring", "harness.telemetry.rundir",
    "harness.telemetry.receiver", "harness.report", "harness.report.html", "harness.gate", "harness.contracts.run",
    "harness.runfolder", "harness.redact",
    "harness.sandbox", "harness.sandbox.target",  # the package (attach, status, down) needs neither
]


def _python(code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code), *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, check=False)


def test_the_blocker_really_blocks() -> None:
    proc = _python("import dbos")
    assert proc.returncode == 1 and "blocked by the test" in proc.stderr


def test_product_code_imports_without_the_sandbox_extra() -> None:
    proc = _python(f"""
        import importlib, sys
        for name in {PRODUCT_MODULES!r}:
            importlib.import_module(name)
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not leaked, leaked
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


CLI = """
    import sys
    from harness.cli import main
    main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", [
    ["sandbox", "up", "--state-dir", "{tmp}/state"],
    ["run", str(ROOT / "scenarios" / "agent-latency.yaml"), "--out", "{tmp}/reports", "--no-progress"],
    ["gameday", str(ROOT / "scenarios" / "agent-latency.yaml"), "--out", "{tmp}/reports", "--auto"],
])
def test_what_needs_the_sandbox_says_how_to_install_it(tmp_path: Path, command: list[str]) -> None:
    proc = _python(CLI, *(part.format(tmp=tmp_path) for part in command), cwd=tmp_path)
    errors = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(errors) == 1 and "install harness[sandbox]" in errors[0] and "dbos and fastapi" in errors[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "reports").exists() and not (tmp_path / "state").exists()  # nothing was started
