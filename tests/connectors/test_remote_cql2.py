"""Rendering the filter AST as CQL2 for an upstream: only what its classes declare, only
shapes every server reads alike, and text that cannot be bent by a value."""

from __future__ import annotations

import cql2 as native
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.filters import Call, Literal, Property, Unsupported
from connectors.remote.cql2 import CLASS_OPS, CQL2, dialect, to_json, to_text
from gateway.query.cql2 import parse

TYPES = {"name": "string", "height": "number", "day": "date", "at": "datetime"}
EVERYTHING = dialect([CQL2 + c for c in CLASS_OPS], TYPES)
BASIC = dialect([CQL2 + "basic-cql2"], TYPES)


def render(text: str, d=EVERYTHING) -> str:
    return to_text(to_json(parse(text), d))


def test_nothing_is_pushed_without_basic_cql2():
    assert dialect([CQL2 + "advanced-comparison-operators"], TYPES).empty
    with pytest.raises(Unsupported):
        to_json(parse("name = 'a'"), dialect([], TYPES))


@pytest.mark.parametrize(
    "text",
    ["name LIKE 'a%'", "height BETWEEN 1 AND 2", "name IN ('a', 'b')", "CASEI(name) = 'a'"],
)
def test_operators_beyond_basic_need_their_class(text: str):
    with pytest.raises(Unsupported):
        to_json(parse(text), BASIC)
    assert render(text)


def test_properties_must_be_queryables_upstream():
    with pytest.raises(Unsupported, match="queryable"):
        to_json(parse("colour = 'red'"), EVERYTHING)


def test_property_against_property_needs_its_class():
    expr = Call("<", (Property("height"), Property("height")))
    with pytest.raises(Unsupported):
        to_json(expr, EVERYTHING)
    mixed = dialect([CQL2 + c for c in (*CLASS_OPS, "property-property")], TYPES)
    assert to_json(expr, mixed) == {"op": "<", "args": [{"property": "height"}] * 2}


def test_dates_and_timestamps_are_not_mixed_in_temporal_operators():
    assert render("T_AFTER(day, DATE('2024-01-01'))") == "t_after(day, DATE('2024-01-01'))"
    with pytest.raises(Unsupported, match="mixed"):
        to_json(parse("T_BEFORE(day, TIMESTAMP('2024-01-01T12:00:00Z'))"), EVERYTHING)


def test_basic_spatial_functions_take_points_and_boxes_only():
    basic = dialect([CQL2 + "basic-cql2", CQL2 + "basic-spatial-functions"], TYPES)
    box = to_json(parse("S_INTERSECTS(geometry, BBOX(9, 53, 10, 54))"), basic)
    assert box["args"][1] == {"bbox": [9.0, 53.0, 10.0, 54.0]}
    triangle = parse("S_INTERSECTS(geometry, POLYGON((9 53, 10 53, 10 54, 9 53)))")
    with pytest.raises(Unsupported):
        to_json(triangle, basic)
    assert to_json(triangle, EVERYTHING)["args"][1]["type"] == "Polygon"


def test_what_cql2_cannot_say_stays_in_the_gateway():
    with pytest.raises(Unsupported):
        to_json(Call("=", (Property("height"), Literal(None))), EVERYTHING)
    with pytest.raises(Unsupported):
        to_json(parse("S_DWITHIN(geometry, POINT(10 53), 100, meters)"), EVERYTHING)


def test_logical_operands_are_parenthesised():
    text = render("name = 'a' OR (height > 2 AND NOT name = 'b')")
    assert text == "(name = 'a') OR ((height > 2) AND (NOT (name = 'b')))"


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_no_string_value_changes_the_filters_shape(value: str):
    expr = Call("=", (Property("name"), Literal(value)))
    try:
        text = to_text(to_json(expr, EVERYTHING))
    except Unsupported:
        return  # not sent upstream: evaluated in the gateway instead
    back = native.parse_text(text).to_json()
    assert back == {"op": "=", "args": [{"property": "name"}, value]}
