"""Filter AST -> NGSI-LD q: what is rendered (and read back by the broker's grammar the same
way), what stays a residual, and the q path of each flattened field."""

from __future__ import annotations

import re
from datetime import date

import pytest

from connectors.filters import Call, Literal, Property, Unsupported
from connectors.ngsi.ldq import to_q
from connectors.ngsi.ldrecords import bbox_query, q_path, record
from gateway.demo.ngsibroker.ldquery import matches, parse

PATHS = {"NO2.value": "NO2", "name.value": "name", "PM10.value": "PM10", "ok.value": "ok"}


def p(name: str) -> Property:
    return Property(name)


def lit(value: object) -> Literal:
    return Literal(value)


@pytest.mark.parametrize(
    ("expr", "q"),
    [
        (Call("=", (p("NO2.value"), lit(20))), "NO2==20"),
        (Call("<>", (p("NO2.value"), lit(2.5))), "NO2!=2.5"),
        (Call(">=", (p("name.value"), lit("M"))), 'name>="M"'),
        (Call("=", (p("ok.value"), lit(True))), "ok==true"),
        (Call("in", (p("PM10.value"), lit(1), lit(2))), "PM10==1,2"),
        (Call("in", (p("name.value"), lit("a,b"), lit("c"))), 'name=="a,b","c"'),
        (Call("between", (p("PM10.value"), lit(1), lit(9))), "PM10==1..9"),
        (Call("isNull", (p("PM10.value"),)), "!PM10"),
        (Call("not", (Call("isNull", (p("PM10.value"),)),)), "PM10"),
        (Call("=", (p("name.value"), lit('say "hi"\\'))), 'name=="say \\"hi\\"\\\\"'),
        (
            Call(
                "or",
                (
                    Call("=", (p("NO2.value"), lit(1))),
                    Call(
                        "and",
                        (
                            Call("<", (p("PM10.value"), lit(3))),
                            Call(">", (p("PM10.value"), lit(1))),
                        ),
                    ),
                ),
            ),
            "(NO2==1)|((PM10<3);(PM10>1))",
        ),  # fmt: skip
        (Call("like", (p("name.value"), lit("St. 1_%"))), 'name~="^St\\.\\ 1[\\s\\S][\\s\\S]*"'),
    ],
)
def test_renders_q_the_broker_reads_back(expr: Call, q: str):
    assert to_q(expr, PATHS) == q
    parse(q)  # well-formed for the broker's grammar


@pytest.mark.parametrize(
    "expr",
    [
        Call("not", (Call("=", (p("NO2.value"), lit(1))),)),
        Call("=", (p("location.value"), lit(1))),  # no q path
        Call("=", (p("NO2.value"), lit(date(2026, 1, 1)))),
        Call("=", (p("NO2.value"), p("PM10.value"))),
        Call("=", (p("NO2.value"), lit(float("nan")))),
        Call("like", (p("name.value"), lit("%end"))),
        Call("like", (p("name.value"), lit("lit\\%"))),
        Call("casei", (p("name.value"),)),
        Call("s_intersects", (p("geometry"), lit(None))),
    ],
)
def test_what_q_cannot_say_exactly_stays_a_residual(expr: Call):
    with pytest.raises(Unsupported):
        to_q(expr, PATHS)


@pytest.mark.parametrize(
    ("value", "hit"),
    [("St. 12", True), ("St. 1x and more", True), ("St. 1", False), ("Xt. 12", False),
     ("St. 1\n2", True), ("st. 12", False)],
)  # fmt: skip
def test_like_as_a_regex_matches_as_cql2_like(value: str, hit: bool):
    q = to_q(Call("like", (p("name.value"), lit("St. 1_%"))), PATHS)
    entity = {"name": {"type": "Property", "value": value}}
    assert matches(parse(q), entity, str) is hit


@pytest.mark.parametrize(
    ("field", "representation", "path"),
    [
        ("NO2.value", "normalized", "NO2"),
        ("NO2.observedAt", "normalized", "NO2.observedAt"),
        ("NO2.unitCode", "normalized", "NO2.unitCode"),
        ("refDevice.object", "normalized", "refDevice"),
        ("address.value.streetAddress", "normalized", "address[streetAddress]"),
        ("address.value.postal.code", "normalized", "address[postal.code]"),
        ("NO2.quality.value", "normalized", "NO2.quality"),
        ("type", "normalized", None),
        ("list.value[0].a", "normalized", None),
        ("NO2", "normalized", None),
        ("we\\.ird.value", "normalized", None),
        ("NO2", "keyValues", "NO2"),
        ("address.streetAddress", "keyValues", "address[streetAddress]"),
    ],
)
def test_q_paths_of_flattened_fields(field: str, representation: str, path: str | None):
    assert q_path(field, representation) == path


def test_records_tolerate_values_of_any_shape():
    entity = {
        "id": "urn:x:1",
        "type": "T",
        "odd": "a bare value",
        "multi": [
            {"type": "Property", "value": 1, "datasetId": "urn:d:1"},
            {"type": "Property", "value": 2},
        ],
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": "bad"}},
        "where": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
    }
    out = record(entity, "normalized", "location")
    assert out["geometry"] is None
    assert out["properties"]["odd"] == "a bare value"
    assert out["properties"]["multi.value"] == 2
    assert out["properties"]["where.value"] == {"type": "Point", "coordinates": [1, 2]}
    assert record(entity, "normalized", "where")["geometry"] == {
        "type": "Point",
        "coordinates": [1, 2],
    }


def test_a_bbox_is_a_closed_lon_lat_polygon():
    query = bbox_query((10.0, 56.0, 10.5, 56.5), "intersects")
    assert query["coordinates"] == [
        [[10.0, 56.0], [10.5, 56.0], [10.5, 56.5], [10.0, 56.5], [10.0, 56.0]]
    ]
    across = bbox_query((170.0, -10.0, -170.0, 10.0), "within")
    assert across["geometry"] == "MultiPolygon" and across["georel"] == "within"
    assert re.search(r"180\.0", str(across["coordinates"]))
