"""Property tests for the proxy's pure parts: attribute validation, slicing, address parsing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.proxy.toxics import TCP_TOXIC_ATTRIBUTES, slice_offsets, validate_tcp_toxic
from harness.proxy.validation import ApiError, parse_proxy, parse_ttl, split_hostport

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8)


@given(total=st.integers(0, 5000), average=st.integers(1, 300), data=st.data())
def test_slices_cover_everything_within_bounds(total: int, average: int, data: st.DataObject) -> None:
    variation = data.draw(st.integers(0, average - 1))
    cuts = slice_offsets(total, average, variation)
    if total == 0:
        assert cuts == []
        return
    assert [a for a, _ in cuts] == [0] + [b for _, b in cuts[:-1]]  # contiguous, in order
    assert (cuts[-1][1] if cuts else 0) == total
    for start, end in cuts[:-1]:  # only the last slice may be short
        assert average - variation <= end - start <= average + variation


@given(type_=st.sampled_from(sorted(TCP_TOXIC_ATTRIBUTES)), attrs=ANY_JSON)
def test_validation_returns_full_int_attributes_or_value_error(type_: str, attrs: Any) -> None:
    try:
        result = validate_tcp_toxic(type_, attrs)
    except ValueError as exc:
        assert str(exc)
        return
    assert set(result) == set(TCP_TOXIC_ATTRIBUTES[type_])
    assert all(type(v) is int and v >= 0 for v in result.values())


@given(type_=st.sampled_from(sorted(TCP_TOXIC_ATTRIBUTES)), data=st.data())
def test_valid_attributes_round_trip(type_: str, data: st.DataObject) -> None:
    keys = sorted(TCP_TOXIC_ATTRIBUTES[type_])
    attrs = data.draw(st.fixed_dictionaries({}, optional={k: st.integers(0, 10**7) for k in keys}))
    if type_ == "slicer":
        attrs["average_size"] = data.draw(st.integers(1, 1000))
        attrs["size_variation"] = data.draw(st.integers(0, attrs["average_size"] - 1))
    result = validate_tcp_toxic(type_, attrs)
    assert result == {**TCP_TOXIC_ATTRIBUTES[type_], **attrs}
    assert validate_tcp_toxic(type_, {k: float(v) for k, v in attrs.items()}) == result  # 5.0 is 5


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:80", ("127.0.0.1", 80)), (":8474", ("", 8474)), ("[::1]:9", ("::1", 9)),
    ("localhost:0", ("localhost", 0)),
])
def test_split_hostport(value: str, expected: tuple[str, int]) -> None:
    assert split_hostport(value, "listen") == expected


@given(st.text(max_size=30))
def test_split_hostport_never_crashes(value: str) -> None:
    try:
        _, port = split_hostport(value, "upstream")
    except ApiError as exc:
        assert exc.status == 400 and "upstream" in exc.message
        return
    assert 0 <= port <= 65535 and value.endswith(str(port))


@given(ANY_JSON, st.booleans())
def test_parse_proxy_is_total(body: Any, create: bool) -> None:
    try:
        spec = parse_proxy(body, create=create)
    except ApiError as exc:
        assert exc.status == 400
        return
    assert isinstance(body, dict)
    if create:
        assert isinstance(spec["name"], str) and isinstance(spec["upstream"], str)


@given(ANY_JSON)
def test_parse_ttl(value: Any) -> None:
    try:
        ttl = parse_ttl(value)
    except ApiError:
        return
    assert ttl is None or ttl > 0
