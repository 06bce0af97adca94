"""Diff and can-i-deploy judge only what a contract promises: identical documents are
always compatible, untyped responses promise nothing, type changes are named precisely
(widened / narrowed / changed) and judged by direction."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.contracts.catalog import can_i_deploy, diff_docs
from harness.contracts.compat import compare_schema, type_change
from harness.contracts.diff import diff_openapi
from harness.contracts.pact import generate_pacts
from tests.contracts.apps import serve, untyped_app
from tests.contracts.recording import RecordingClient

# --------------------------------------------------------------------------- type changes


@pytest.mark.parametrize(("old", "new", "named", "breaks_input", "breaks_output"), [
    ("integer", "number", "widened", False, True),
    ("number", "integer", "narrowed", True, False),
    ("integer", "string", "changed", True, True),
    ("string", "integer", "changed", True, True),
    (["string"], ["string", "null"], "widened", False, True),
    (["string", "null"], ["string"], "narrowed", True, False),
])
def test_type_changes_are_named_and_judged_by_direction(old: Any, new: Any, named: str, breaks_input: bool,
                                                        breaks_output: bool) -> None:
    for direction, breaks in (("input", breaks_input), ("output", breaks_output)):
        (change,) = compare_schema({"type": old}, {"type": new}, "$.booking_id", direction)  # type: ignore[arg-type]
        assert change.message.startswith(f"type {named} from "), change
        assert change.breaking is breaks, (direction, change)


def test_type_change_names_single_types_plainly() -> None:
    (change,) = compare_schema({"type": "integer"}, {"type": "string"}, "$.id", "input")
    assert str(change) == "$.id: type changed from integer to string"
    assert type_change({"number"}, {"number", "integer"}) is None  # the same values, spelled differently


# --------------------------------------------------------------------------- promises


UNTYPED = [{}, {"title": "Response Get Booking"}, {"type": "object", "additionalProperties": True}]
TYPED = {"type": "object", "required": ["booking_id"], "properties": {"booking_id": {"type": "integer"}}}


@pytest.mark.parametrize("untyped", UNTYPED)
def test_an_untyped_schema_promises_nothing_to_lose(untyped: dict[str, Any]) -> None:
    assert compare_schema(untyped, untyped, "$", "output") == []
    assert not any(c.breaking for c in compare_schema(untyped, TYPED, "$", "output"))  # now typed: fine
    # a promise that is withdrawn is breaking: callers relied on it
    assert any(c.breaking and "'booking_id' removed" in c.message
               for c in compare_schema(TYPED, untyped, "$", "output"))


@pytest.mark.parametrize("untyped", UNTYPED)
def test_what_a_consumer_received_is_not_checked_against_an_untyped_contract(untyped: dict[str, Any]) -> None:
    seen = {"type": "object", "required": ["booking_id"], "properties": {"booking_id": {"type": "number"}}}
    changes = compare_schema(seen, untyped, "$", "output", observed=True)
    assert changes and not any(c.breaking for c in changes)
    assert all(c.message.startswith("not checked") for c in changes)


# --------------------------------------------------------------------------- identical documents

names = st.sampled_from(["id", "booking_id", "status", "items", "x"])
leaf = st.one_of(
    st.sampled_from([{}, {"title": "t"}, {"type": "string"}, {"type": "integer"}, {"type": "number"},
                     {"type": "boolean"}, {"type": ["string", "null"]}, {"type": "string", "nullable": True},
                     {"type": "object", "additionalProperties": True}, {"type": "string", "maxLength": 5},
                     {"type": "integer", "minimum": 0}, {"$ref": "#/components/schemas/A"},
                     {"$ref": "#/components/schemas/Missing"}]),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True).map(
        lambda e: {"type": "string", "enum": e}),
)


def _composite(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    objects = st.dictionaries(names, inner, max_size=4).flatmap(lambda props: st.builds(
        lambda req, closed: {"type": "object", "properties": props, "required": req,
                             **({"additionalProperties": False} if closed else {})},
        st.lists(st.sampled_from(sorted(props) or ["id"]), unique=True), st.booleans()))
    return st.one_of(objects, inner.map(lambda s: {"type": "array", "items": s}),
                     st.lists(inner, min_size=1, max_size=3).map(lambda v: {"anyOf": v}),
                     st.lists(inner, min_size=1, max_size=2).map(lambda v: {"allOf": v}))


schemas = st.recursive(leaf, _composite, max_leaves=10)
content = st.one_of(st.none(), schemas.map(lambda s: {"application/json": {"schema": s}}))


def _response(body: dict[str, Any] | None) -> dict[str, Any]:
    return {"description": "r", **({"content": body} if body is not None else {})}


operations = st.fixed_dictionaries({
    "parameters": st.lists(st.builds(lambda n, where, req, s: {"name": n, "in": where, "required": req,
                                                                "schema": s},
                                     names, st.sampled_from(["query", "header", "path"]), st.booleans(), schemas),
                           max_size=3),
    "requestBody": st.one_of(st.none(), st.builds(lambda c, r: {"required": r, "content": c or {}},
                                                  content, st.booleans())),
    "responses": st.dictionaries(st.sampled_from(["200", "201", "204", "404", "422", "default"]),
                                 content.map(_response), min_size=1, max_size=3),
}).map(lambda op: {k: v for k, v in op.items() if v is not None})
openapi_docs = st.builds(
    lambda paths, components: {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths,
                               "components": {"schemas": components}},
    st.dictionaries(st.sampled_from(["/bookings", "/bookings/{booking_id}", "/health"]),
                    st.dictionaries(st.sampled_from(["get", "post", "put", "delete"]), operations,
                                    min_size=1, max_size=2), max_size=3),
    st.dictionaries(st.sampled_from(["A", "B"]), schemas, max_size=2),
)
cards = st.builds(
    lambda skills, out, inp, streaming: {
        "name": "planner", "version": "1", "description": "d",
        "supportedInterfaces": [{"url": "http://x/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {"streaming": streaming, "extensions": [{"uri": "u", "params": {
            "output_schema": out, "skills": {s: {"input": inp} for s in skills}}}]},
        "skills": [{"id": s, "name": s, "description": s, "tags": ["t"]} for s in skills],
        "defaultInputModes": ["application/json"], "defaultOutputModes": ["application/json"]},
    st.lists(st.sampled_from(["plan", "book", "explain"]), min_size=1, unique=True), schemas, schemas,
    st.booleans())
tool_lists = st.lists(st.builds(lambda n, i, o: {"name": n, "inputSchema": i, **({"outputSchema": o} if o else {})},
                                names, schemas, st.one_of(st.none(), schemas)), max_size=3).map(
    lambda tools: {"tools": tools})
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=5)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(names, inner, max_size=3)), max_leaves=8)
pacts = st.builds(lambda inters: {"consumer": {"name": "web"}, "provider": {"name": "trips"}, "interactions": [
    {"type": "Synchronous/HTTP", "description": d, "request": {"method": "GET", "path": "/x"},
     "response": {"status": s, "body": {"content": b, "contentType": "application/json"}}}
    for d, s, b in inters]},
    st.lists(st.tuples(st.sampled_from(["GET /a -> 200", "GET /b -> 200", "POST /c -> 201"]),
                       st.sampled_from([200, 201, 404]), json_values), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.one_of(openapi_docs, cards, tool_lists, pacts))
def test_any_document_diffed_against_itself_has_no_changes(doc: dict[str, Any]) -> None:
    _, changes = diff_docs(doc, copy.deepcopy(doc))
    assert changes == []


# --------------------------------------------------------------------------- a real untyped FastAPI app


def _record_and_generate(url: str, tmp_path: Path) -> Path:
    recording = tmp_path / "traffic.jsonl"
    with RecordingClient(recording, "trips", base_url=url) as client:
        booking = client.post("/bookings", json={"from": "LIS", "to": "OSL"}).json()
        assert client.get(f"/bookings/{booking['booking_id']}").status_code == 200
    generate_pacts([recording], tmp_path / "pacts", consumer="web", provider="trips")
    return tmp_path / "pacts"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().out


def test_identical_untyped_fastapi_documents_are_compatible(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with serve(untyped_app()) as url:
        pact_dir = _record_and_generate(url, tmp_path)
        first = httpx.get(f"{url}/openapi.json", trust_env=False).json()
        second = httpx.get(f"{url}/openapi.json", trust_env=False).json()
    schema = first["paths"]["/bookings/{booking_id}"]["get"]["responses"]["200"]["content"]
    assert schema["application/json"]["schema"] == {}  # the untyped shape this is about
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(first))
    new.write_text(json.dumps(second))

    code, out = _cli(["contracts", "diff", str(old), str(new)], capsys)
    assert code == 0 and "0 breaking, 0 other" in out, out
    code, out = _cli(["contracts", "can-i-deploy", "--provider", "trips", "--contract", str(new),
                      "--pacts", str(pact_dir)], capsys)
    assert code == 0, out
    assert "yes: all 2 recorded interaction(s) of trips are still honoured" in out
    assert "removed" not in out and "not checked" in out  # said, not hidden, and not a failure


def test_a_next_version_that_changes_a_received_type_cannot_deploy(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with serve(untyped_app()) as url:
        pact_dir = _record_and_generate(url, tmp_path)
    contract = tmp_path / "v2.json"
    contract.write_text(json.dumps(untyped_app(typed_ids="str").openapi()))
    code, out = _cli(["contracts", "can-i-deploy", "--provider", "trips", "--contract", str(contract),
                      "--pacts", str(pact_dir)], capsys)
    assert code == 1, out
    assert "web 'POST /bookings -> 201' response $.booking_id: type changed from number to string" in out
    # and document against document: the typed v2 adds promises, which breaks no one
    assert not any(c.breaking for c in diff_openapi(untyped_app().openapi(), untyped_app(typed_ids="str").openapi()))
    _, changes = can_i_deploy("trips", untyped_app().openapi(), [pact_dir])
    assert not any(c.breaking for c in changes)
