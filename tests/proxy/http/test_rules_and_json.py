"""Attribute validation, matching and the JSON rewrites, as pure functions (hypothesis where it pays)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.proxy.http_json import json_malform, json_truncate, plausible_wrong, schema_drift, wrong_value
from harness.proxy.http_rules import RequestInfo, inspect_body, matches, roll, select, take_failure
from harness.proxy.http_toxics import HTTP_TOXIC_TYPES, validate_http_toxic
from harness.proxy.types import ToxicView

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=15,
)


def test_types_are_the_agreed_set() -> None:
    assert {"http_status", "http_abort", "http_delay", "json_truncate", "json_malform", "schema_drift",
            "wrong_value", "fail_first_n", "stream_cut"} == HTTP_TOXIC_TYPES


def test_defaults_are_filled_in() -> None:
    a = validate_http_toxic("http_status", {})
    assert a["status"] == 503 and a["headers"] == {} and a["method"] is None and a["probability"] == 1.0
    assert validate_http_toxic("fail_first_n", {"n": 2})["status"] == 503
    assert validate_http_toxic("json_truncate", {})["fraction"] == 0.5
    assert validate_http_toxic("stream_cut", {})["events"] == 1
    assert validate_http_toxic("schema_drift", {"pointer": "/a", "op": "retype"})["to"] == "string"
    assert validate_http_toxic("http_status", {"method": "get"})["method"] == ["GET"]
    assert validate_http_toxic("http_status", {"path": ["/a/*", "/b"]})["path"] == ["/a/*", "/b"]


@pytest.mark.parametrize(("type_", "attrs", "named"), [
    ("http_status", {"status": 99}, "status"),
    ("http_status", {"status": "503"}, "status"),
    ("http_status", {"headers": {"Bad Name": "1"}}, "headers"),
    ("http_status", {"headers": {"X": "a\r\nInjected: 1"}}, "headers"),
    ("http_status", {"body": 5}, "body"),
    ("http_status", {"probability": 1.5}, "probability"),
    ("http_status", {"method": 3}, "method"),
    ("http_status", {"statuss": 500}, "statuss"),
    ("http_abort", {"after_bytes": -1}, "after_bytes"),
    ("http_abort", {"reset": "yes"}, "reset"),
    ("http_delay", {"delay_ms": -5}, "delay_ms"),
    ("json_truncate", {"fraction": 0.5, "bytes": 3}, "bytes"),
    ("json_truncate", {"fraction": 1}, "fraction"),
    ("json_malform", {"mode": "nope"}, "mode"),
    ("schema_drift", {}, "pointer"),
    ("schema_drift", {"pointer": "a/b"}, "pointer"),
    ("schema_drift", {"pointer": "/a", "op": "rename"}, "to"),
    ("schema_drift", {"pointer": "/a", "op": "retype", "to": "date"}, "to"),
    ("schema_drift", {"pointer": "/a", "op": "explode"}, "op"),
    ("wrong_value", {"pointer": 5}, "pointer"),
    ("wrong_value", {"pointer": "/a", "value": float("nan")}, "value"),
    ("http_status", {"body": {"x": float("inf")}}, "body"),
    ("fail_first_n", {"n": 0}, "n"),
    ("fail_first_n", {"n": float("inf")}, "n"),
    ("http_status", {"seed": float("nan")}, "seed"),
    ("http_delay", {"delay_ms": float("inf")}, "delay_ms"),
    ("stream_cut", {"events": 1, "bytes": 2}, "bytes"),
])
def test_bad_attributes_name_the_attribute(type_: str, attrs: dict, named: str) -> None:
    with pytest.raises(ValueError, match=f"'{named}'"):
        validate_http_toxic(type_, attrs)


def test_unknown_type_and_upstream_stream_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown HTTP toxic type"):
        validate_http_toxic("latency", {})
    with pytest.raises(ValueError, match="downstream"):
        validate_http_toxic("http_status", {}, stream="upstream")


@given(type_=st.sampled_from(sorted(HTTP_TOXIC_TYPES)),
       attrs=st.dictionaries(st.sampled_from(["status", "n", "pointer", "op", "to", "bytes", "events", "fraction",
                                              "method", "path", "tool", "headers", "body", "after_bytes",
                                              "delay_ms", "mode", "value", "probability", "reset", "x"]),
                             JSON | st.floats(), max_size=5))  # inf/nan too: Python's json accepts them
def test_validation_only_ever_raises_value_error(type_: str, attrs: dict[str, Any]) -> None:
    try:
        out = validate_http_toxic(type_, attrs)
    except ValueError as exc:
        assert str(exc).startswith(type_)
        return
    assert json.loads(json.dumps(out)) == out  # stays JSON (the API echoes it back)
    assert validate_http_toxic(type_, out) == out  # normalized output is a fixed point


def _view(type_: str, toxicity: float = 1.0, **attrs: Any) -> ToxicView:
    return ToxicView("t", type_, toxicity=toxicity, attributes=validate_http_toxic(type_, attrs))


def test_matchers_combine_with_and() -> None:
    v = _view("http_status", method="POST", path="/a2a/*", jsonrpc_method="Send*")
    assert matches(v, RequestInfo("POST", "/a2a/x", ["SendMessage"], []))
    assert not matches(v, RequestInfo("GET", "/a2a/x", ["SendMessage"], []))
    assert not matches(v, RequestInfo("POST", "/other", ["SendMessage"], []))
    assert not matches(v, RequestInfo("POST", "/a2a/x", ["GetTask"], []))
    assert not matches(v, RequestInfo("POST", "/a2a/x", None, None))  # body not inspected: no match


def test_inspect_body_finds_rpc_methods_and_tools() -> None:
    body = json.dumps([{"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "issue_payout"}},
                       {"jsonrpc": "2.0", "method": "SendMessage"}, {"result": 1}, 5]).encode()
    assert inspect_body(body) == (["tools/call", "SendMessage"], ["issue_payout"])
    assert inspect_body(b"\xff{") == ([], [])


def test_seeded_roll_is_reproducible_and_fail_first_n_counts() -> None:
    a, b = _view("http_status", probability=0.3, seed=7), _view("http_status", probability=0.3, seed=7)
    assert [roll(a) for _ in range(50)] == [roll(b) for _ in range(50)]
    assert roll(_view("http_status", toxicity=0.0)) is False
    f = _view("fail_first_n", n=2)
    assert [take_failure(f) for _ in range(4)] == [True, True, False, False]
    assert select([_view("http_delay", path="/x")],
                  RequestInfo("GET", "/y")) == []


@settings(max_examples=200)
@given(doc=JSON, mode=st.sampled_from(["trailing_garbage", "drop_closing", "html"]))
def test_json_malform_always_breaks_json(doc: Any, mode: str) -> None:
    out = json_malform(json.dumps(doc).encode(), {"mode": mode})
    with pytest.raises(ValueError):
        json.loads(out)


@given(doc=JSON, fraction=st.floats(0, 0.99), nbytes=st.integers(0, 50))
def test_json_truncate_is_a_strict_prefix(doc: Any, fraction: float, nbytes: int) -> None:
    body = json.dumps(doc).encode()
    for attrs in ({"fraction": fraction, "bytes": None}, {"fraction": None, "bytes": nbytes}):
        out = json_truncate(body, attrs)
        if out is not None:
            assert len(out) < len(body) and body.startswith(out)


@given(value=JSON)
def test_plausible_wrong_keeps_the_type(value: Any) -> None:
    new = plausible_wrong(value)
    if value is None or isinstance(value, dict) or value == []:
        return  # nothing same-shaped to change to: the toxic reports "not applied"
    assert type(new) is type(value) and new != value
    if isinstance(value, str):
        assert len(new) in (len(value), len(value) + 1)


def test_wrong_value_and_drift_on_pointers() -> None:
    body = json.dumps({"result": {"items": [{"id": "a1", "n": 1}, {"id": "b2", "n": 2}], "a~b": 1, "x/y": 2}}).encode()
    out = json.loads(wrong_value(body, {"pointer": "/result/items/*/n", "value": None}))
    assert [i["n"] for i in out["result"]["items"]] == [2, 3]
    out = json.loads(wrong_value(body, {"pointer": "/result/items/0/id", "value": "zz"}))
    assert out["result"]["items"][0]["id"] == "zz"
    assert wrong_value(body, {"pointer": "/missing", "value": None}) is None
    assert wrong_value(b"<html>", {"pointer": "/a", "value": None}) is None
    out = json.loads(schema_drift(body, {"pointer": "/result/a~0b", "op": "remove"}))
    assert "a~b" not in out["result"]
    out = json.loads(schema_drift(body, {"pointer": "/result/x~1y", "op": "retype", "to": "array"}))
    assert out["result"]["x/y"] == [2]
    out = json.loads(schema_drift(body, {"pointer": "/result/items/1", "op": "remove"}))
    assert len(out["result"]["items"]) == 1
    assert schema_drift(body, {"pointer": "/result/a~0b", "op": "retype", "to": "integer"}) is None


# A "*" segment is the documented wildcard (docs/http-toxics.md), so a literal "*" key is not addressable.
@given(doc=st.dictionaries(st.text(min_size=1, max_size=5).filter(lambda k: k != "*"), JSON, min_size=1, max_size=4),
       data=st.data())
def test_schema_drift_remove_makes_the_pointer_unresolvable(doc: dict, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(doc)))
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    out = json.loads(schema_drift(json.dumps(doc).encode(), {"pointer": pointer, "op": "remove"}))
    assert key not in out and len(out) == len(doc) - 1
