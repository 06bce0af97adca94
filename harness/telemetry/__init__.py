"""harness.telemetry: the I/O side of scoring.

Reads run folders (``rundir.load_run``), spans from JSONL and OTLP JSON (``spans``), and
receives OTLP/HTTP from a real OpenTelemetry SDK or Collector (``receiver``).
"""
