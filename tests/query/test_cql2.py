import math
from datetime import UTC, date, datetime

import pytest
import shapely

from connectors.filters import GEOMETRY, Call, Literal, Property, TimeInterval
from gateway.errors import InvalidParameter
from gateway.query.cql2 import CONFORMANCE, Limits, field_types, parse

Q = {
    "name": {"type": "string"},
    "pop": {"type": "integer"},
    "height": {"type": "number"},
    "day": {"type": "string", "format": "date"},
    "at": {"type": "string", "format": "date-time"},
    "ok": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "geom": {"format": "geometry-point", "x-ogc-role": "primary-geometry"},
}


def error(text, *args, **kw) -> str:
    with pytest.raises(InvalidParameter) as e:
        parse(text, *args, **kw)
    return e.value.description


def test_text_json_string_and_decoded_json_give_the_same_tree():
    text = parse("pop >= 5 AND name LIKE 'B%'", "cql2-text", Q)
    body = {
        "op": "and",
        "args": [
            {"op": ">=", "args": [{"property": "pop"}, 5]},
            {"op": "like", "args": [{"property": "name"}, "B%"]},
        ],
    }
    assert parse(body, None, Q) == text
    assert parse(str(body).replace("'", '"'), "cql2-json", Q) == text
    assert parse("pop >= 5 AND name LIKE 'B%'", "cql-text", Q) == text


def test_integral_numbers_are_ints_and_literal_arithmetic_is_folded():
    assert parse("pop = 1038280 + 8", None, Q) == Call("=", (Property("pop"), Literal(1038288)))
    assert parse("height > 1.5", None, Q).args[1] == Literal(1.5)
    assert parse("pop > 1/0", None, Q).args[1] == Literal(None)
    chained = parse("pop + pop + 1 > 2", None, Q).args[0]
    assert chained == Call("+", (Call("+", (Property("pop"), Property("pop"))), Literal(1)))


def test_temporal_literals_and_intervals_with_open_ends():
    expr = parse("T_INTERSECTS(day, INTERVAL('2021-04-16', '..'))", None, Q)
    assert expr.args[1] == Literal(TimeInterval(date(2021, 4, 16), None))
    expr = parse("at > TIMESTAMP('2021-04-16T10:15:59+02:00')", None, Q)
    assert expr.args[1] == Literal(datetime(2021, 4, 16, 8, 15, 59, tzinfo=UTC))
    expr = parse("T_DURING(INTERVAL(at, '..'), INTERVAL('2020-01-01', '2021-01-01'))", None, Q)
    assert expr.args[0] == Call("interval", (Property("at"), Literal(None)))


def test_the_geometry_queryable_and_the_name_geometry_mean_the_primary_geometry():
    for name in ("geom", "geometry"):
        expr = parse(f"S_INTERSECTS({name}, POINT(7 50))", None, Q)
        assert expr.args == (Property(GEOMETRY), Literal(shapely.Point(7, 50)))


def test_a_bbox_across_the_antimeridian_is_two_boxes():
    box = parse("S_INTERSECTS(geom, BBOX(170, -10, -170, 10))", None, Q).args[1].value
    assert box.geom_type == "MultiPolygon" and box.bounds == (-180, -10, 180, 10)
    assert box.covers(shapely.Point(175, 0)) and not box.covers(shapely.Point(0, 0))


def test_filter_crs_epsg_4326_reads_latitude_first():
    expr = parse("S_INTERSECTS(geom, POINT(50 7))", None, Q, "EPSG:4326")
    assert expr.args[1].value.equals(shapely.Point(7, 50))
    box = parse("S_INTERSECTS(geom, BBOX(40, 0, 50, 10))", None, Q, "EPSG:4326").args[1]
    assert box.value.bounds == (0, 40, 10, 50)
    uri = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert (
        parse("S_INTERSECTS(geom, POINT(7 50))", None, Q, uri)
        .args[1]
        .value.equals(shapely.Point(7, 50))
    )


def test_filter_crs_projected_coordinates_move_to_crs84():
    point = parse("S_INTERSECTS(geom, POINT(566000 5934000))", None, Q, "EPSG:25832")
    x, y = point.args[1].value.coords[0]
    assert math.isclose(x, 10.0, abs_tol=0.1) and math.isclose(y, 53.55, abs_tol=0.1)


def test_unknown_filter_crs_and_filter_lang_name_their_parameter():
    with pytest.raises(InvalidParameter) as e:
        parse("S_INTERSECTS(geom, POINT(1 2))", None, Q, "EPSG:999999")
    assert e.value.parameter == "filter-crs"
    with pytest.raises(InvalidParameter) as e:
        parse("pop = 1", "cql-json", Q)
    assert e.value.parameter == "filter-lang"


def test_syntax_errors_name_the_position():
    assert "syntax error at position 12 (at the end)" in error("pop = 1 AND", None, Q)
    assert "position 7 (near '= 1')" in error("pop = = 1", None, Q)
    assert "line 2, column 10 (near '= 2')" in error("pop = 1\nOR pop = = 2", None, Q)
    assert "not JSON" in error('{"op": "=",', "cql2-json", Q)


def test_unknown_properties_and_functions_are_named():
    message = error("name = 'x' AND colour = 'red'", None, Q)
    assert "unknown property 'colour' at position 16" in message and "queryables:" in message
    assert "unknown function 'wobble' at position 1" in error("wobble(pop) = 1", None, Q)
    assert "unknown function 'POINT'" in error("S_INTERSECTS(geom, POINT(1)) ", None, Q)
    assert "unknown function" in error({"op": "eval", "args": ["6*7"]}, None, Q)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("day = 5", "compares date with number"),
        ("name LIKE 5", "'like' cannot take a number"),
        ("S_INTERSECTS(name, POINT(1 2))", "the string property 'name'"),
        ("ok AND pop = 1", "the boolean property 'ok'"),
        ("1 OR 1=1", "'or' cannot take a number"),
        ("NOT 'x'", "'not' cannot take a string"),
        ("pop + 1", "must be a condition"),
        ("T_AFTER(pop, DATE('2020-01-01'))", "the number property 'pop'"),
        ("A_CONTAINS(name, ('a'))", "the string property 'name'"),
        ("day = DATE('2021-02-30')", "not a valid date"),
        ("at > TIMESTAMP('2021-01-01')", "use DATE('2021-01-01')"),
        ("at > TIMESTAMP('2021-13-01T00:00:00Z')", "not a valid date or timestamp"),
        ("at > TIMESTAMP('9999-12-31T23:00:00-05:00')", "outside the years 1 to 9999"),
        ("T_AFTER(at, INTERVAL('9999-12-31T23:00:00-05:00', '..'))", "outside the years"),
        ("day > DATE('99999-01-01')", "not a valid date"),
        ("T_AFTER(at, INTERVAL('2022-01-01', '2021-01-01'))", "starts after it ends"),
        ("pop = 1e400", "finite"),
        ("S_INTERSECTS(geom, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "invalid geometry"),
        ("S_INTERSECTS(geom, POLYGON EMPTY)", "empty"),
        ("S_INTERSECTS(geom, BBOX(0, 10, 5, 0))", "minimum above"),
        ("S_DWITHIN(geom, POINT(1 2), 5, furlongs)", "furlongs"),
        ("pop IN ()", "syntax error"),
    ],
)
def test_meaningless_filters_are_400_with_a_reason(text, words):
    assert words in error(text, None, Q)


def test_cql2_reads_a_timestamp_without_zone_in_text_as_utc():
    expr = parse("T_AFTER(at, INTERVAL('2021-01-01T00:00:00', '..'))", None, Q)
    assert expr.args[1].value.start == datetime(2021, 1, 1, tzinfo=UTC)


def test_without_queryables_any_property_name_is_accepted():
    assert parse("colour = 'red'") == Call("=", (Property("colour"), Literal("red")))


def test_limits_on_length_nodes_and_depth():
    assert "characters long" in error("pop = 1 OR " * 2000 + "pop = 1", None, Q)
    assert "nodes" in error(" OR ".join(["pop = 1"] * 200), None, Q)
    assert "nests deeper" in error(
        "(" * 40 + "pop = 1" + ")" * 40, None, Q, limits=Limits(depth=10)
    )
    assert "nests deeper" in error("NOT " * 40 + "pop = 1", None, Q)


def test_nesting_that_would_crash_the_native_parser_is_refused_first():
    """cql2 0.6 overflows its stack (the process dies) on ~2,000 nested parentheses."""
    assert "nests deeper" in error("(" * 5000 + "pop = 1" + ")" * 5000, None, Q)
    assert "nests deeper" in error("casei(" * 2000 + "'x'" + ")" * 2000 + " = 'x'", None, Q)
    assert "nests deeper" in error("pop = " + "- " * 4000 + "1", None, Q)
    assert "nodes" in error("NOT " * 4000 + "pop = 1", None, Q)
    deep: dict = {"op": "=", "args": [{"property": "pop"}, 1]}
    for _ in range(5000):
        deep = {"op": "not", "args": [deep]}
    assert "nests deeper" in error(deep, None, Q)


def test_the_worst_nesting_allowed_parses():
    text = "NOT (" * 30 + "NOT " * 400 + "pop = 1" + ")" * 30
    with pytest.raises(InvalidParameter, match="nests deeper"):
        parse(text, None, Q)  # our own depth limit, after the native parser survived


def test_s_dwithin_distance_in_metres_or_kilometres():
    expr = parse("S_DWITHIN(geom, POINT(7 50), 2.5, km)", None, Q)
    assert expr.args[2] == Literal(2500)
    assert parse("S_DWITHIN(geom, POINT(7 50), 10)", None, Q).args[2] == Literal(10)


def test_in_lists_are_flat_and_not_in_is_not_of_in():
    expr = parse("name NOT IN ('a', 'b')", None, Q)
    assert expr == Call("not", (Call("in", (Property("name"), Literal("a"), Literal("b"))),))


def test_arrays_and_casei_keep_their_shape():
    expr = parse("A_CONTAINS(tags, ('a', 'b')) AND CASEI(name) = casei('X')", None, Q)
    assert expr.args[0] == Call("a_contains", (Property("tags"), Literal(("a", "b"))))
    assert expr.args[1].args[1] == Call("casei", (Literal("X"),))


def test_field_types_from_queryables():
    assert field_types(Q) == {
        "name": "string",
        "pop": "integer",
        "height": "number",
        "day": "date",
        "at": "datetime",
        "ok": "boolean",
    }


def test_conformance_names_the_cql2_classes():
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in CONFORMANCE
    assert "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic" in CONFORMANCE


def test_like_patterns_are_bounded_in_length_and_wildcards():
    assert "65 wildcards" in error("name LIKE '" + "%a" * 65 + "'", None, Q)
    assert "the limit is 64" in error("CASEI(name) LIKE CASEI('" + "_" * 65 + "')", None, Q)
    assert "characters" in error("name LIKE '" + "a" * 1001 + "'", None, Q)
    escaped = "name LIKE '" + "\\%" * 100 + "'"  # escaped, so no wildcards
    assert parse(escaped, None, Q).args[1].value == "\\%" * 100
    three = Limits(like_wildcards=3)
    assert "the limit is 3" in error("name LIKE '%a%b%c%'", None, Q, limits=three)
    assert parse(
        "name LIKE '" + "%a" * 100 + "'", None, Q, limits=Limits(like_wildcards=0, like_length=0)
    )


def test_geometry_literals_keep_every_digit_of_the_text():
    """The cql2 package reads 53.550004320999996 as its neighbour 53.550004321."""
    y = 53.550004320999996
    point = parse(f"S_INTERSECTS(geom, POINT(9 {y!r}))", None, Q).args[1].value
    assert point.y == y
    text = (
        f"name = 'POINT(1 2)' AND S_WITHIN(geom, POLYGON((0 0, 1 0, 1 {y!r}, 0 0)))"
        f" AND S_INTERSECTS(geom, GEOMETRYCOLLECTION(POINT(1 {y!r}), POINT(2 2)))"
        f" AND S_TOUCHES(geom, MULTIPOINT((3 {y!r}), (4 4)))"
    )
    polygon, collection, multipoint = (term.args[1].value for term in parse(text, None, Q).args[1:])
    assert polygon.exterior.coords[2] == (1.0, y)
    assert collection.geoms[0].y == y and multipoint.geoms[0].y == y
    assert parse("S_INTERSECTS(geom, POINT(9 53.5))", None, Q).args[1].value.y == 53.5
