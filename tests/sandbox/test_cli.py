"""``harness sandbox up|status|down`` as a user runs them: separate processes, detached sandbox."""

from __future__ import annotations

import gzip
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from harness.sandbox import SandboxClient, make_claim
from harness.sandbox.sandbox import proxy_available
from harness.system.ports import free_port

pytestmark = pytest.mark.slow


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


class OtlpReceiver(http.server.BaseHTTPRequestHandler):
    """Minimal OTLP/HTTP trace receiver (protobuf), collecting span names and attributes."""

    spans: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        for rs in MessageToDict(req).get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                self.spans.extend(ss.get("spans", []))
        out = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


def test_up_status_down_leaves_nothing_behind(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), OtlpReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/v1/traces"
    up = harness("sandbox", "up", "--state-dir", str(state), "--otlp-endpoint", endpoint)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        saved = json.loads((state / "state.json").read_text())
        pids = {name: p["pid"] for name, p in saved["processes"].items()}
        assert {"orchestrator", "intake", "risk", "approval", "payout", "notify"} <= set(pids)
        assert all(alive(pid) for pid in pids.values())  # they outlived the `up` command

        assert harness("validate", str(state / "system.yaml")).returncode == 0
        assert harness("sandbox", "status", "--state-dir", str(state)).returncode == 0
        again = harness("sandbox", "up", "--state-dir", str(state))
        assert again.returncode == 2 and "already up" in again.stderr and "Traceback" not in again.stderr

        urls = saved["meta"]["urls"]
        client = SandboxClient(urls, state)
        claim = make_claim(3000.0)
        assert client.wait(client.submit(claim))["state"] == "SUCCESS"
        if proxy_available():  # the orchestrator -> risk edge runs through the embedded proxy
            api = saved["meta"]["proxy_api_url"]
            proxies = httpx.get(f"{api}/proxies", timeout=5).json()
            assert set(proxies) == {"intake", "risk", "approval", "payout", "notify"}
            httpx.post(f"{api}/proxies/risk", json={"enabled": False}, timeout=5).raise_for_status()
            cut = make_claim(40.0)
            assert client.wait(client.submit(cut))["state"] == "ERROR"
            assert client.requests("risk", cut["claim_id"]) == []
        client.close()
    finally:
        down = harness("sandbox", "down", "--state-dir", str(state))
    receiver.shutdown()
    receiver.server_close()
    assert down.returncode == 0, down.stderr
    # Spans also went out over OTLP/HTTP (flushed at the latest on shutdown).
    names = {s["name"] for s in OtlpReceiver.spans}
    assert {"invoke_workflow claims", "execute_tool issue_payout", "invoke_agent risk"} <= names
    assert not any(alive(pid) for pid in pids.values())
    assert not (state / "state.json").exists()
    assert harness("sandbox", "status", "--state-dir", str(state)).returncode == 1


def test_unknown_defect_is_exit_2_without_traceback(tmp_path: Path) -> None:
    res = harness("sandbox", "up", "--state-dir", str(tmp_path), "--defect", "no_such_defect")
    assert res.returncode == 2
    assert "no_such_defect" in res.stderr and "no_retry" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "state.json").exists()


def test_status_reports_a_dead_process_and_down_still_cleans_up(tmp_path: Path) -> None:
    from harness.system.supervisor import ProcessSpec, Supervisor

    port = free_port()
    sup = Supervisor(tmp_path)
    sup.start(ProcessSpec(name="web", argv=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                          health_url=f"http://127.0.0.1:{port}/", url=f"http://127.0.0.1:{port}", cwd=str(tmp_path)))
    sup.start(ProcessSpec(name="idle", argv=[sys.executable, "-c", "import time; time.sleep(60)"]))
    idle = sup.pid("idle")
    sup.stop("web", grace_s=1)  # dies behind the recorded state's back
    status = harness("sandbox", "status", "--state-dir", str(tmp_path))
    assert status.returncode == 1 and "stopped" in status.stdout and "running" in status.stdout
    down = harness("sandbox", "down", "--state-dir", str(tmp_path))
    assert down.returncode == 0 and "idle" in down.stdout
    assert not alive(idle)
    sup.stop_all()  # reaps our (already dead) children
