"""nox sessions: ``tests``, ``lint``, ``bench``. They reuse the project's .venv (scripts/setup)
instead of building fresh virtualenvs, so they run offline and start in seconds."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    session.run("bash", "scripts/test", *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    session.run(".venv/bin/ruff", "check", "harness", "tests", "benchmarks", "noxfile.py", external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks print ratios against a baseline measured in the same run."""
    session.run("bash", "scripts/setup", external=True)
    session.run(".venv/bin/python", "-m", "benchmarks", *session.posargs, external=True)
