"""Generated CQL2 filters over the NGSI-v2 stations: whatever part the connector sends to
the broker as `q` or a geo-query, the gateway answers with exactly the stations its own
evaluation selects (the `residual` tenant evaluates every filter in the gateway). The
literals come from the data and from its edges: values in and out of range, integers a
double does not hold, strings with Orion's forbidden characters, commas, `..` and regex
characters, LIKE patterns, instants with and without milliseconds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.ngsi_fixtures import (  # noqa: F401 - fixtures
    DISTRICTS,
    ODD_NAMES,
    ids,
    items,
    ngsi_broker,
    ngsi_gateway,
)

pytestmark = pytest.mark.integration
NUMBERS = ("NO2.value", "PM10.value", "reliability.value")
STRINGS = ("name.value", "district.value")
TEXTS = [*DISTRICTS, *ODD_NAMES, "Meetstation Blaak 1", "O'Neill", "a(b)", "x=y", "", " Noord"]
number = st.one_of(
    st.sampled_from([0, 5, 23, 40, 40.5, 0.5, 80, -1, 2**53 + 1, 10**30, 1e300]),
    st.floats(-10, 90, allow_nan=False).map(lambda v: round(v, 1)),
)
comparison = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def terms(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["num", "str", "in", "between", "like", "time", "geo"]))
    if kind == "num":
        return f"{draw(st.sampled_from(NUMBERS))} {draw(comparison)} {draw(number)}"
    if kind == "str":
        text = draw(st.one_of(st.sampled_from(TEXTS), st.text("Mas ,.'()%_[]=", max_size=6)))
        return f"{draw(st.sampled_from(STRINGS))} {draw(comparison)} {quoted(text)}"
    if kind == "in":
        if draw(st.booleans()):
            values = draw(st.lists(number, min_size=1, max_size=4))
            return f"{draw(st.sampled_from(NUMBERS))} IN ({', '.join(map(str, values))})"
        texts = draw(st.lists(st.sampled_from(TEXTS), min_size=1, max_size=3))
        return f"district.value IN ({', '.join(map(quoted, texts))})"
    if kind == "between":
        low, high = sorted([draw(number), draw(number)])
        return f"{draw(st.sampled_from(NUMBERS))} BETWEEN {low} AND {high}"
    if kind == "like":
        start = draw(st.sampled_from(["Meet", "Station", "", "Meetstation B", "x"]))
        pattern = start + draw(st.sampled_from(["%", "_%", "%5", "%[Golf]", "% 1_", "%\\%", "(%"]))
        return f"name.value LIKE {quoted(pattern)}"
    if kind == "time":
        day, hour = draw(st.integers(1, 29)), draw(st.integers(0, 23))
        millis = draw(st.sampled_from(["", ".250", ".000123"]))
        op = draw(st.sampled_from([">", "<=", "="]))
        return f"dateObserved.value {op} TIMESTAMP('2024-03-{day:02d}T{hour:02d}:07:00{millis}Z')"
    west, south = draw(st.floats(4.38, 4.55)), draw(st.floats(51.87, 51.96))
    box = f"BBOX({west:.4f}, {south:.4f}, {west + 0.04:.4f}, {south + 0.03:.4f})"
    return f"{draw(st.sampled_from(['S_INTERSECTS', 'S_DISJOINT']))}(geometry, {box})"


@st.composite
def filters(draw: st.DrawFn) -> str:
    found = draw(st.lists(terms(), min_size=1, max_size=3))
    if len(found) > 1 and draw(st.integers(0, 4)) == 0:
        return f"({found[0]}) OR NOT ({' AND '.join(found[1:])})"
    return " AND ".join(found)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=filters())
@example(text="name.value LIKE 'Meet%5'")  # the end anchor matters
@example(text="name.value LIKE 'Meetstation B_aak%'")
@example(text="NO2.value = 23 AND district.value <> 'Noord'")
@example(text="NO2.value <> 40.5")
@example(text=f"PM10.value < {2**53 + 1}")
@example(text="dateObserved.value > TIMESTAMP('2024-03-10T05:07:00Z')")
def test_generated_filters_select_the_same_stations_pushed_or_not(
    ngsi_gateway: TestClient,  # noqa: F811
    text: str,
) -> None:
    pushed = items(ngsi_gateway, "pushed", filter=text)
    residual = items(ngsi_gateway, "residual", filter=text)
    assert ids(pushed) == ids(residual), text
    if "numberMatched" in pushed and "numberMatched" in residual:
        assert pushed["numberMatched"] == residual["numberMatched"], text
