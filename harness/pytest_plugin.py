"""pytest11 plugin (placeholder until the scenario-engine issue lands): registers the ``chaos`` marker."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: a chaos experiment run by harness")
