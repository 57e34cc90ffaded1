"""`restate` keeps exactly the values the original comparison selects, in each domain."""

from __future__ import annotations

import math
import operator

from hypothesis import given
from hypothesis import strategies as st

from connectors.bounds import INT64_MAX, INT64_MIN, restate

OPS = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le}
OPS |= {">": operator.gt, ">=": operator.ge}
EDGES = [0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**23, 10**400]
numbers = st.one_of(
    st.sampled_from(EDGES + [-e for e in EDGES]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(EDGES).map(lambda e: float(e) if e < 2**1023 else 1e308),
)
integers = st.one_of(st.integers(INT64_MIN, INT64_MAX), st.sampled_from([INT64_MIN, INT64_MAX]))
SPECIAL = [2.0**53, 2.0**53 + 2, 2.0**63, 1e23, math.nextafter(1e23, 0), 1.7976931348623157e308]
doubles = st.one_of(st.floats(allow_nan=False), st.sampled_from(SPECIAL))


def agrees(op: str, value: int | float, x: int | float, domain: str) -> bool:
    found = restate(op, value, domain)  # type: ignore[arg-type]
    if isinstance(found, bool):
        return found == OPS[op](x, value)
    restated, bound = found
    if domain == "integer":
        assert type(bound) is int and INT64_MIN <= bound <= INT64_MAX
    else:
        assert type(bound) is float
    return OPS[restated](x, bound) == OPS[op](x, value)


@given(op=st.sampled_from(sorted(OPS)), value=numbers, x=integers)
def test_integer_columns(op, value, x):
    assert agrees(op, value, x, "integer")


@given(op=st.sampled_from(sorted(OPS)), value=numbers, x=doubles)
def test_double_columns(op, value, x):
    assert agrees(op, value, x, "double")


@given(op=st.sampled_from(sorted(OPS)), value=numbers)
def test_every_neighbour_of_the_literal_is_decided_right(op, value):
    """The values next to the literal are where a rounded comparison goes wrong."""
    if INT64_MIN <= value <= INT64_MAX:
        for x in {math.floor(value) - 1, math.floor(value), math.ceil(value), math.ceil(value) + 1}:
            if INT64_MIN <= x <= INT64_MAX:
                assert agrees(op, value, x, "integer")
    try:
        near = float(value)
    except OverflowError:
        near = math.inf if value > 0 else -math.inf
    for x in (math.nextafter(near, -math.inf), near, math.nextafter(near, math.inf)):
        assert agrees(op, value, x, "double")
