"""Wire framing, pointer lookup, templates, and the sink over real sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.load.protocol import (
    LineDecoder,
    encode_message,
    render_template,
    resolve_pointer,
    status_url_for,
)
from harness.load.samples import Sample, SampleSink

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
messages = st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), max_size=10)


@given(messages, st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=50))
@settings(max_examples=40)
def test_decoder_reassembles_any_chunking(msgs: list[dict[str, Any]], cuts: list[int]) -> None:
    stream = b"".join(encode_message(m) for m in msgs)
    dec, out, pos, i = LineDecoder(), [], 0, 0
    while pos < len(stream):
        size = cuts[i % len(cuts)]
        out.extend(dec.feed(stream[pos:pos + size]))
        pos, i = pos + size, i + 1
    assert out == msgs
    assert dec.pending == 0 and dec.bad_lines == 0


@given(messages, st.binary(max_size=40).map(lambda b: b"#" + b.replace(b"\n", b"")))
@settings(max_examples=30)
def test_decoder_skips_garbage_lines_and_keeps_the_rest(msgs: list[dict[str, Any]], junk: bytes) -> None:
    stream = b"".join(encode_message(m) + junk + b"\n" for m in msgs)
    dec = LineDecoder()
    assert dec.feed(stream) == msgs
    assert dec.bad_lines == len(msgs)


def test_decoder_keeps_torn_tail_pending() -> None:
    dec = LineDecoder()
    assert dec.feed(b'{"a":1}\n{"b":') == [{"a": 1}]
    assert dec.pending == 5
    assert dec.feed(b"2}\n") == [{"b": 2}]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@given(st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=5), st.data())
def test_pointer_finds_every_member(doc: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(doc)))
    assert resolve_pointer(doc, "/" + _escape(key)) == doc[key]
    assert resolve_pointer({"outer": [doc]}, "/outer/0/" + _escape(key)) == doc[key]
    assert resolve_pointer(doc, "") == doc


def test_pointer_misses_are_none() -> None:
    doc = {"a": [1, 2], "b": {"c": None}}
    for ptr in ("/x", "/a/2", "/a/01", "/a/-", "/a/x", "/a/0/y", "a", "/b/c/d"):
        assert resolve_pointer(doc, ptr) is None
    assert resolve_pointer(doc, "/a/1") == 2


@given(json_values, st.integers(min_value=0), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32))
def test_render_replaces_placeholders_only_in_strings(tmpl: Any, n: int, token: str) -> None:
    out = render_template({"x": tmpl, "id": "c-{n}", "u": "{uuid}", "k": 5}, n, token)
    assert out["id"] == f"c-{n}" and out["u"] == token and out["k"] == 5
    assert "{n}" not in json.dumps(out) and "{uuid}" not in json.dumps(out)


@given(st.text(min_size=1, max_size=30))
def test_status_url_escapes_the_id_as_one_segment(wf: str) -> None:
    url = status_url_for("http://h/claims/{id}/status", wf)
    assert url.startswith("http://h/claims/") and url.endswith("/status")
    assert url.count("/") == 5 and "{id}" not in url


# -- the sink, with raw sockets standing in for Locust processes --------------------


def _sample_msg(t: float, worker: int, name: str = "submit") -> dict[str, Any]:
    return {"type": "sample", "t_mono": t, "t_wall": time.time(), "name": name, "method": "POST",
            "status": 200, "latency_ms": 1.5, "ok": True, "workflow_id": f"wf-{worker}-{t}", "error": None,
            "worker": worker}


def _producer(address: tuple[str, int], token: str, worker: int) -> socket.socket:
    sock = socket.create_connection(address)
    sock.sendall(encode_message({"type": "hello", "token": token, "worker": worker, "pid": 1}))
    return sock


def test_sink_merges_producers_in_time_order_and_drains_on_eof() -> None:
    got: list[Sample] = []
    sink = SampleSink(got.append, token="t0k", reorder_window_s=0.2)
    sink.start()
    a, b = _producer(sink.address, "t0k", 1), _producer(sink.address, "t0k", 2)
    assert sink.wait_for_producers(2, timeout=5)
    base = time.monotonic()
    # b's earlier samples arrive after a's later ones: the window puts them back in order.
    a.sendall(b"".join(encode_message(_sample_msg(base + 0.03 * i, 1)) for i in range(1, 6, 2)))
    time.sleep(0.05)
    b.sendall(b"".join(encode_message(_sample_msg(base + 0.03 * i, 2)) for i in range(0, 6, 2)))
    a.close()
    b.close()
    sink.close(drain_timeout=5)
    assert [s.t_mono for s in got] == sorted(s.t_mono for s in got)
    assert len(got) == 6 and {s.worker for s in got} == {1, 2}
    assert sink.received == sink.delivered == 6


def test_sink_delivers_quickly_and_rejects_bad_tokens() -> None:
    got: list[tuple[float, Sample]] = []
    event = threading.Event()

    def on_sample(s: Sample) -> None:
        got.append((time.monotonic(), s))
        event.set()

    sink = SampleSink(on_sample, token="right")
    sink.start()
    intruder = _producer(sink.address, "wrong", 9)
    intruder.sendall(encode_message(_sample_msg(time.monotonic(), 9)))
    good = _producer(sink.address, "right", 1)
    assert sink.wait_for_producers(1, timeout=5)
    sent = time.monotonic()
    good.sendall(encode_message(_sample_msg(sent, 1)) + b'{"type":"sample","t_mono":"x"}\n')
    assert event.wait(5)
    assert got[0][0] - sent < 0.5  # functional bound: "low delay" means well under a second
    good.close()
    sink.close(drain_timeout=5)
    intruder.close()
    assert [s.worker for _, s in got] == [1]
    assert sink.producers == 1 and sink.bad_messages == 1
