"""Fixture agents for the contract tests: real servers on free loopback ports, one set per
module (start-up is cheap, but state such as A2A tasks should not leak across modules)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.apps import a2a_app, mcp_app, rest_app, serve


@pytest.fixture(scope="module")
def rest_url() -> Iterator[str]:
    with serve(rest_app()) as url:
        yield url


@pytest.fixture(scope="module")
def a2a_url() -> Iterator[str]:
    with serve(a2a_app()) as url:
        yield url


@pytest.fixture(scope="module")
def a2a_drift_url() -> Iterator[str]:
    with serve(a2a_app(drift=True)) as url:
        yield url


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with serve(mcp_app()) as url:
        yield url + "/mcp"
