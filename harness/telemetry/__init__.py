"""harness.telemetry: the I/O side of scoring.

Reads run folders (``rundir.load_run``), spans from JSONL and OTLP JSON (``spans``), and
receives OTLP/HTTP from a real OpenTelemetry SDK or Collector (``receiver``). Protobuf and
OpenTelemetry modules are imported only when a protobuf body is decoded.
"""

from __future__ import annotations

from harness.telemetry.receiver import OtlpReceiver
from harness.telemetry.rundir import load_run

__all__ = ["OtlpReceiver", "load_run"]
