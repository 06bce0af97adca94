"""Traffic recording: redacted JSON lines that parse back, one per exchange, toxics named."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.proxy.recorder import REDACTED, Recorder, read_recording, redact_body
from tests.proxy.http.relay_host import RelayHost, run_relay
from tests.proxy.http.upstream_app import ORDER, Upstream


@pytest.fixture
def recorded(upstream: Upstream, tmp_path: Path) -> Iterator[tuple[RelayHost, Path]]:
    path = tmp_path / "rec" / "traffic.jsonl"
    recorder = Recorder(path, max_body_bytes=2048)
    with run_relay(upstream.port, recorder=recorder) as host:
        yield host, path
    recorder.close()


def wait_lines(relay: RelayHost, n: int) -> None:
    """The relay records an exchange just after the client got the last byte: wait for the line."""
    deadline = time.monotonic() + 5
    while relay.recorder is not None and relay.recorder.count < n and time.monotonic() < deadline:
        time.sleep(0.01)


def test_exchanges_are_recorded_with_secrets_redacted(recorded: tuple[RelayHost, Path]) -> None:
    relay, path = recorded
    secrets = {"Authorization": "Bearer sk-live-123", "Cookie": "sid=abc", "X-Api-Key": "k-1",
               "X-Session-Token": "t-1", "X-Client-Secret": "s-1", "X-Db-Password": "p-1"}
    with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}", headers=secrets) as c:
        c.get("/order", params={"q": "1", "api_key": "zzz"})
        c.post("/rpc", json={"jsonrpc": "2.0", "id": 7, "method": "SendMessage",
                             "params": {"password": "hunter2", "max_tokens": 5, "access_token": "x"}})
        c.post("/echo", content=bytes(range(256)) * 20, headers={"content-type": "application/octet-stream"})
    wait_lines(relay, 3)
    text = path.read_text()
    for secret in ("sk-live-123", "sid=abc", "k-1", "t-1", "s-1", "p-1", "hunter2", "zzz"):
        assert secret not in text
    lines = read_recording(path)
    assert [ln["request"]["method"] for ln in lines] == ["GET", "POST", "POST"]
    get, post, blob = lines
    assert get["v"] == 1 and get["proxy"] == "test-proxy" and get["latency_ms"] >= 0
    assert get["t_wall"] > 1e9 and isinstance(get["t_mono"], float)
    assert get["request"]["path"] == "/order"
    assert get["request"]["query"] == {"q": ["1"], "api_key": [REDACTED]}
    for name in ("authorization", "cookie", "x-api-key", "x-session-token", "x-client-secret", "x-db-password"):
        assert get["request"]["headers"][name] == REDACTED
    assert get["request"]["headers"]["host"].startswith("127.0.0.1")
    assert get["request"]["body"] is None and get["request"]["body_encoding"] == "none"
    assert get["response"]["status"] == 200 and get["response"]["body"] == ORDER
    assert get["response"]["body_encoding"] == "json" and get["toxics"] == [] and get["error"] is None
    params = post["request"]["body"]["params"]
    assert params == {"password": REDACTED, "max_tokens": 5, "access_token": REDACTED}
    assert post["response"]["body"]["result"]["method"] == "SendMessage"
    assert blob["request"]["body_size"] == 5120 and blob["request"]["body_truncated"] is True
    assert blob["response"]["body_size"] == 5120 and blob["response"]["body_truncated"] is True


def test_recording_names_the_toxic_and_what_the_client_saw(recorded: tuple[RelayHost, Path]) -> None:
    relay, path = recorded
    relay.add("schema_drift", name="drop_amount", path="/order", pointer="/order/amount")
    relay.add("http_status", name="sse_down", path="/sse", status=503, headers={"Retry-After": "3"})
    relay.add("stream_cut", name="cut", path="/chunked", bytes=5)
    with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}") as c:
        assert "amount" not in c.get("/order").json()["order"]
        assert c.get("/sse").status_code == 503
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/chunked")
    wait_lines(relay, 3)
    order, sse, cut = read_recording(path)
    assert order["toxics"] == [{"name": "drop_amount", "type": "schema_drift"}]
    assert "amount" not in order["response"]["body"]["order"]
    assert order["response"]["headers"]["content-length"] == str(order["response"]["body_size"])
    assert sse["toxics"] == [{"name": "sse_down", "type": "http_status"}]
    assert sse["response"]["status"] == 503 and sse["response"]["headers"]["retry-after"] == "3"
    assert cut["toxics"][0]["type"] == "stream_cut" and "cut" in cut["error"]
    assert cut["response"]["body_size"] == 5 and cut["response"]["body"] == json.dumps(ORDER)[:5]


def test_recorder_is_thread_safe_and_lines_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with Recorder(path) as rec:
        def burst(k: int) -> None:
            for i in range(200):
                rec.record({"v": 1, "proxy": f"p{k}", "i": i, "request": {"headers": {"Cookie": "c"},
                                                                           "body": {"x": "y" * 500}}})

        threads = [threading.Thread(target=burst, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    lines = read_recording(path)
    assert len(lines) == 800 and all(ln["request"]["headers"]["cookie"] == REDACTED for ln in lines)
    assert sorted(ln["i"] for ln in lines if ln["proxy"] == "p2") == list(range(200))


def test_redact_body_keeps_lookalike_counters() -> None:
    doc = {"a": [{"refresh_token": "r", "token_count": 3, "keyword": "k", "secret": {"x": 1}}],
           "apiKey": "v", "Authorization": "b"}
    assert redact_body(doc) == {"a": [{"refresh_token": REDACTED, "token_count": 3, "keyword": "k",
                                       "secret": REDACTED}], "apiKey": REDACTED, "Authorization": REDACTED}


def test_form_bodies_are_redacted(recorded: tuple[RelayHost, Path]) -> None:
    relay, path = recorded
    with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}") as c:
        c.post("/echo", data={"username": "ann", "password": "hunter2", "client_secret": "cs"})
    wait_lines(relay, 1)
    (line,) = read_recording(path)
    assert "hunter2" not in path.read_text() and "cs" not in line["request"]["body"]
    assert line["request"]["body"].startswith("username=ann&password=%5BREDACTED%5D")
