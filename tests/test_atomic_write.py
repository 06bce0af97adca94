"""write_atomic: a reader sees the old file or the new one, never half, and no temp file is left."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from harness.jsontools import write_atomic


def test_replaces_text_and_bytes_and_creates_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "scorecard.json"
    assert write_atomic(target, "één\n") == target
    assert target.read_text(encoding="utf-8") == "één\n"
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in target.parent.iterdir()] == ["scorecard.json"]


def test_honours_the_umask_like_open(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_concurrent_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "big.json"
    versions = [bytes([65 + i]) * 200_000 for i in range(4)]
    write_atomic(target, versions[0])
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(target.read_bytes())

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    writers = [threading.Thread(target=lambda v=v: [write_atomic(target, v) for _ in range(20)]) for v in versions]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert seen <= set(versions) and [p.name for p in tmp_path.iterdir()] == ["big.json"]
