"""The test broker's Simple Query Language and geo-queries against the examples and rules
of Orion's manual ("Simple Query Language", "Geographical Queries")."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point, Polygon

from gateway.demo.ngsibroker import geo
from gateway.demo.ngsibroker.v2query import MISSING, QueryError, holds, parse, walk


def q(text: str, value: object, *, is_date: bool = False) -> bool:
    """Whether the single statement `text` holds for a target value."""
    (statement,) = parse(text)
    return holds(statement, value, is_date)


def test_equal_single_element_and_quotes_force_a_string():
    assert q("temperature==40", 40) and q("temperature==40", 40.0)
    assert q("temperature==40", "40")  # an unquoted number also meets its text
    assert q("title=='20'", "20") and not q("title=='20'", 20)  # the manual's example
    assert not q("temperature==40", 41)
    assert q("temperature:40", 40)  # ':' is '=='


def test_lists_are_any_of_for_equal_and_none_of_for_unequal():
    assert q("color==black,red", "red") and not q("color==black,red", "white")
    assert q("color!=black,red", "white") and not q("color!=black,red", "black")
    assert q("color=='light,green','deep,blue'", "light,green")
    assert not q("color=='light,green','deep,blue'", "light")
    assert q("color==black,red", ["white", "red"])  # an array value includes one


def test_ranges_include_both_limits():
    assert q("temperature==10..20", 10) and q("temperature==10..20", 20)
    assert not q("temperature==10..20", 21) and not q("temperature==10..20", "15")
    assert q("temperature!=10..20", 9) and not q("temperature!=10..20", 15)


def test_order_comparisons_stay_within_a_type():
    assert q("temperature>42", 43) and not q("temperature>42", 42)
    assert q("temperature>=44", 44) and q("temperature<43", 42) and q("temperature<=45", 45)
    assert not q("temperature>42", "50")  # a string is no number
    assert q("name>'M'", "Noord") and not q("name>'M'", 5)


def test_dates_compare_as_instants_on_datetime_attributes_only():
    stamp = "2024-03-05T10:00:00.000Z"
    assert q("dateObserved>2024-03-01T00:00:00Z", stamp, is_date=True)
    assert not q("dateObserved>2024-03-01T00:00:00Z", stamp)  # a Text attribute
    assert q("dateObserved==2024-03-05T00:00:00Z..2024-03-06", stamp, is_date=True)


def test_pattern_is_a_regex_search_on_strings():
    assert q("color~=ow", "brown") and q("color~=ow", "yellow")
    assert not q("color~=ow", "black") and not q("color~=ow", 10)


def test_unary_statements_test_existence_and_unequal_needs_the_attribute():
    (exists,) = parse("temperature")
    (absent,) = parse("!temperature")
    assert holds(exists, 1, False) and not holds(exists, MISSING, False)
    assert holds(absent, MISSING, False) and not holds(absent, None, False)
    assert not q("temperature!=41", MISSING)


def test_paths_walk_into_values_with_quoted_tokens():
    (statement,) = parse("'a.b'.w.'x.y'==1")
    assert statement.path == ("a.b", "w", "x.y")
    assert walk({"w": {"x.y": 1}}, statement.path[1:]) == 1
    assert len(parse("temperature>20;humidity<80;!broken")) == 3  # ';' is AND


@pytest.mark.parametrize(
    "text",
    ["name==a(b", "name==<x>", "name~=(a|b)", "name==a=b", "name==", "a.==1", "name=='open"],
)
def test_forbidden_characters_and_broken_statements_are_refused(text: str):
    with pytest.raises(QueryError):
        parse(text)


# --- geo-queries ----------------------------------------------------------------------------


def test_near_max_and_min_distance_in_metres_from_lat_lon_coords():
    close = geo.v2_query("near;maxDistance:1000", "point", "-40.4,-3.5")
    assert close is not None and close.shape.equals(Point(-3.5, -40.4))  # lat,lon read
    assert close.matches(Point(-3.5, -40.395)) and not close.matches(Point(-3.5, -40.41))
    far = geo.v2_query("near;minDistance:5000", "point", "-40.4,-3.5")
    assert (
        far is not None and far.matches(Point(-3.5, -40.5)) and not far.matches(Point(-3.5, -40.4))
    )
    assert abs(geo.haversine(0, 0, 0, 1) - 111_317) < 2  # a degree on Orion's sphere


def test_covered_by_the_manuals_polygon_and_the_border_counts():
    area = geo.v2_query(
        "coveredBy", "polygon", "25.774,-80.190;18.466,-66.118;32.321,-64.757;25.774,-80.190"
    )
    assert area is not None and area.matches(Point(-70, 25))
    assert not area.matches(Point(-60, 25)) and area.matches(Point(-80.190, 25.774))
    assert not area.matches(LineString([(-70, 25), (-60, 25)]))


def test_intersects_disjoint_equals_with_box_and_line():
    box = geo.v2_query("intersects", "box", "51.0,4.0;52.0,5.0")
    assert box is not None and box.matches(Polygon([(4.9, 51.9), (6, 51.9), (6, 53), (4.9, 51.9)]))
    apart = geo.v2_query("disjoint", "box", "51.0,4.0;52.0,5.0")
    assert (
        apart is not None and apart.matches(Point(6, 51.5)) and not apart.matches(Point(4.5, 51.5))
    )
    assert not apart.matches(None)  # no location matches no geo-query
    line = geo.v2_query("equals", "line", "51,4;52,5")
    assert line is not None and line.matches(LineString([(4, 51), (5, 52)]))


@pytest.mark.parametrize(
    ("georel", "geometry", "coords"),
    [
        ("near;maxDistance:1000", "polygon", "1,1;1,2;2,2;1,1"),  # near needs a point
        ("near", "point", "1,1"),  # without a distance
        ("coveredBy", "polygon", "1,1;1,2;2,2"),  # not closed
        ("coveredBy", "polygon", "1,1;1,2;1,1"),  # fewer than four pairs
        ("intersects", "box", "1,1"),  # a box needs two corners
        ("intersects", "point", "91,0"),  # latitude out of range
        ("within", "point", "1,1"),  # an NGSI-LD relation
        ("intersects", "circle", "1,1"),
        ("intersects", "point", "1;1"),
    ],
)
def test_malformed_geo_queries_are_refused(georel: str, geometry: str, coords: str):
    with pytest.raises(geo.GeoError):
        geo.v2_query(georel, geometry, coords)


def test_simple_location_format_reads_lat_lon():
    assert geo.simple_location("geo:point", "41.3763726, 2.186447514") == Point(
        2.186447514, 41.3763726
    )
    assert geo.simple_location("geo:point", "north") is None
    box = geo.simple_location(
        "geo:box",
        ["40.63913831188419, -8.653321266174316", "40.63881265804603, -8.653149604797363"],
    )
    assert box is not None and box.contains(Point(-8.6532, 40.639))


def test_ngsi_ld_form_uses_double_equals_and_lon_lat():
    near = geo.ld_query("near;maxDistance==2000", "Point", "[13.3777,52.5162]")
    assert near is not None and near.shape.equals(Point(13.3777, 52.5162))
    assert near.matches(Point(13.38, 52.52)) and near.max_distance == 2000
