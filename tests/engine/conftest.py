"""A real sandbox shared by the engine's end-to-end tests (one per xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.sandbox import Sandbox
from harness.system.target import Target


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("engine-sandbox")) as box:
        box.write_system_yaml()
        yield box


def proxies_state(box: Sandbox) -> dict[str, dict]:
    """Name -> proxy JSON from the sandbox's embedded proxy API."""
    assert box.proxy_api_url, "the sandbox runs without the embedded proxy"
    return httpx.get(f"{box.proxy_api_url}/proxies", timeout=5).json()


def write_scenario(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def target_of(box: Sandbox) -> Target:
    """The sandbox as ``open_target`` would hand it to a run."""
    return Target(box.system_spec(), Path(box.system_yaml_path), box.supervisor)
