"""The OTLP/HTTP receiver with a real OpenTelemetry SDK exporter on a free loopback port."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.system.ports import free_port
from harness.telemetry.receiver import OtlpReceiver
from harness.telemetry.spans import read_span_jsonl


def _sdk_spans(endpoint: str, compression: bool) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind

    provider = TracerProvider(resource=Resource.create({"service.name": "orchestrator"}))
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=5,
                                compression=Compression.Gzip if compression else Compression.NoCompression)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")  # a private provider: no global state shared across tests
    tool_attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "issue_payout",
                  "gen_ai.agent.name": "payout", "ctx.amount": 250000, "ctx.approved": False,
                  "gen_ai.usage.input_tokens": 12, "http.request.header.authorization": ["Bearer s3cr3t"],
                  "gen_ai.response.finish_reasons": ["stop"]}
    with (tracer.start_as_current_span("invoke_agent payout", kind=SpanKind.CLIENT, attributes={
              "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "payout"}),
          tracer.start_as_current_span("execute_tool issue_payout", attributes=tool_attrs) as sp):
        sp.add_event("cedar.decision", {"decision": "Allow"})
    provider.force_flush()
    provider.shutdown()


@pytest.mark.parametrize("compression", [False, True])
def test_sdk_exporter_spans_land_in_jsonl(tmp_path: Path, compression: bool) -> None:
    out = tmp_path / "spans.jsonl"
    with OtlpReceiver(out, port=free_port()) as rx:
        _sdk_spans(rx.endpoint, compression)
        assert rx.spans_received == 2
    spans = read_span_jsonl(out)
    assert len(spans) == 2
    by_name = {s["name"]: s for s in spans}
    parent, child = by_name["invoke_agent payout"], by_name["execute_tool issue_payout"]
    assert child["trace_id"] == parent["trace_id"] and len(child["trace_id"]) == 32
    assert child["parent_span_id"] == parent["span_id"] and len(parent["span_id"]) == 16
    assert parent["parent_span_id"] is None and parent["kind"] == "CLIENT"
    assert child["resource"]["service.name"] == "orchestrator"
    attrs = child["attributes"]
    assert attrs["ctx.amount"] == 250000 and attrs["ctx.approved"] is False
    assert attrs["gen_ai.usage.input_tokens"] == 12            # a count, not a secret
    assert attrs["http.request.header.authorization"] == "[REDACTED]"
    assert "s3cr3t" not in out.read_text()
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert child["events"] == [{"name": "cedar.decision", "attributes": {"decision": "Allow"}}]
    assert child["end_ns"] >= child["start_ns"] > 1_600_000_000 * 10**9


def test_otlp_json_gzip_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "spans.jsonl"
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "orchestrator"}}]},
        "scopeSpans": [{"scope": {"name": "x"}, "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "execute_tool send_notice", "kind": 3, "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000100000000", "status": {"code": 2},
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
                           {"key": "ctx.amount", "value": {"intValue": "120000"}}]}]}]}]}
    with OtlpReceiver(out, port=free_port()) as rx, httpx.Client(timeout=5) as client:
        r = client.post(rx.endpoint, content=gzip.compress(json.dumps(body).encode()),
                        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert r.status_code == 200 and r.json() == {}
        bad = client.post(rx.endpoint, content=b"\xff\x00garbage",
                          headers={"Content-Type": "application/x-protobuf"})
        assert bad.status_code == 400 and "protobuf" in bad.text
        assert client.post(rx.endpoint, content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 400
        # a streamed (chunked) body, as some HTTP clients send it
        chunked = client.post(rx.endpoint, content=iter([json.dumps(body).encode()[:50],
                                                        json.dumps(body).encode()[50:]]),
                              headers={"Content-Type": "application/json"})
        assert chunked.status_code == 200
        assert client.post(rx.endpoint.replace("/v1/traces", "/v1/logs"), content=b"{}",
                           headers={"Content-Type": "application/json"}).status_code == 404
        assert rx.spans_received == 2
    span, again = read_span_jsonl(out)
    assert again == span
    assert span["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert span["kind"] == "CLIENT" and span["status"] == "ERROR"
    assert span["start_ns"] == 1_700_000_000_000_000_000
    assert span["attributes"]["ctx.amount"] == 120000


def test_cli_receive_refuses_busy_port_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    with OtlpReceiver(tmp_path / "a.jsonl", port=free_port()) as rx:
        proc = subprocess.run([sys.executable, "-m", "harness", "telemetry", "receive", "--port", str(rx.port),
                               "--out", str(tmp_path / "b.jsonl")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "cannot listen" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_cli_receive_writes_spans_and_stops_on_ctrl_c(tmp_path: Path, stop_signal: signal.Signals) -> None:
    out = tmp_path / "cli.jsonl"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "telemetry", "receive", "--port", str(port),
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()  # printed once the socket is bound
        assert f"127.0.0.1:{port}/v1/traces" in banner
        _sdk_spans(f"http://127.0.0.1:{port}/v1/traces", compression=True)
        proc.send_signal(stop_signal)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "received 2 spans in 2 requests" in stdout
    assert len(read_span_jsonl(out)) == 2
