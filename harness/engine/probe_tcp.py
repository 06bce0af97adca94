"""The ``tcp`` probe: ok while a port accepts connections (a database, a broker, a raw agent port).

Cheaper than an HTTP probe and independent of any protocol: it only opens and closes a
TCP connection, so it tells "the process is listening" apart from "it answers correctly".
"""

from __future__ import annotations

import socket
import time
from typing import Literal

from pydantic import ConfigDict, Field

from harness.engine.probe_base import ProbeContext, ProbeKind, ProbeResult
from harness.model.durations import Duration
from harness.model.scenario import ProbeSpec

__all__ = ["KIND", "TcpProbe", "run_tcp_probe"]


class TcpProbe(ProbeSpec):
    model_config = ConfigDict(extra="forbid")

    type: Literal["tcp"]
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(ge=1, le=65535)
    timeout_s: Duration = 2.0


def run_tcp_probe(probe: TcpProbe, _context: ProbeContext) -> ProbeResult:
    start = time.monotonic()
    try:
        with socket.create_connection((probe.host, probe.port), timeout=probe.timeout_s):
            pass
    except OSError as exc:
        return ProbeResult(False, (time.monotonic() - start) * 1000, f"{type(exc).__name__}: {exc}"[:200])
    return ProbeResult(True, (time.monotonic() - start) * 1000)


KIND = ProbeKind("tcp", TcpProbe, run_tcp_probe, "open a TCP connection to host:port; ok when it is accepted")
