"""The NGSI-v2 `q` and geo-query compiler: exact renderings only, coords in lat,lon."""

from __future__ import annotations

import pytest

from connectors.filters import Unsupported
from connectors.ngsi.v2q import Target, bbox_params, geo_params, like_regex, statements
from gateway.query.cql2 import parse

FIELDS = {
    "no2": Target("NO2", "number"),
    "name": Target("name", "string"),
    "seen": Target("dateObserved", "datetime"),
    "ok": Target("ok", "boolean"),
    "addr": Target("address.streetAddress", "string"),
}


def q(text: str) -> str:
    return ";".join(statements(parse(text), FIELDS))


def test_numbers_equal_by_a_range_so_strings_never_match():
    assert q("no2 = 5") == "NO2==5..5"
    assert q("no2 <> 5.5") == "NO2!=5.5;NO2==-1.7976931348623157e308..1.7976931348623157e308"
    assert q("no2 IN (1, 2)") == "NO2==1,2;NO2==-1.7976931348623157e308..1.7976931348623157e308"
    assert q("no2 BETWEEN 1 AND 2.5") == "NO2==1..2.5"
    assert q("no2 >= 40") == "NO2>=40"


def test_strings_are_single_quoted_and_paths_reach_into_values():
    assert q("name = 'Coolsingel 5, Rotterdam'") == "name=='Coolsingel 5, Rotterdam'"
    assert q("name <> 'x'") == "name!='x';name>=''"
    assert q("addr IN ('a b', 'c')") == "address.streetAddress=='a b','c'"
    assert q("ok = true") == "ok==true"


def test_instants_at_millisecond_precision():
    assert q("seen > TIMESTAMP('2024-03-01T10:00:00Z')") == "dateObserved>2024-03-01T10:00:00.000Z"
    assert q("T_BEFORE(seen, TIMESTAMP('2024-03-01T10:00:00.5Z'))") == (
        "dateObserved<2024-03-01T10:00:00.500Z"
    )


@pytest.mark.parametrize(
    "text",
    [
        "name = 'it''s'",
        "name = 'a(b)'",
        "name = 'a=b'",
        "name = 'x..y'",
        "name = ' padded'",
        "no2 = 'five'",
        "name > 5",
        "ok > true",
        "seen = DATE('2024-03-01')",
        "no2 > 1 OR no2 < 0",
        "NOT no2 > 1",
        "no2 IS NULL",
        "unknown = 1",
        "name LIKE 'a(%'",
    ],
)
def test_what_q_cannot_say_exactly_is_unsupported(text: str):
    with pytest.raises(Unsupported):
        statements(parse(text), FIELDS)


def test_like_becomes_an_anchored_regex_matching_across_lines():
    assert like_regex("Meet%") == "^Meet[\\s\\S]*$"
    assert like_regex("a_c.d") == "^a[\\s\\S]c\\.d$"
    assert like_regex("50\\%") == "^50%$"
    assert like_regex("[x]+") == "^\\[x\\]\\+$"


def test_geo_queries_send_lat_lon():
    box = geo_params(parse("S_INTERSECTS(geometry, BBOX(4.42, 51.89, 4.48, 51.93))"))
    assert box.params() == {
        "georel": "intersects",
        "geometry": "box",
        "coords": "51.89,4.42;51.93,4.48",
    }
    point = geo_params(parse("S_DISJOINT(geometry, POINT(4.4 51.9))"))
    assert (point.georel, point.geometry, point.coords) == ("disjoint", "point", "51.9,4.4")
    polygon = geo_params(parse("S_INTERSECTS(geometry, POLYGON((4 51, 5 51, 5 52, 4 51)))"))
    assert polygon.geometry == "polygon" and polygon.coords == "51.0,4.0;51.0,5.0;52.0,5.0;51.0,4.0"
    assert bbox_params((4.0, 51.0, 5.0, 52.0)).coords == "51.0,4.0;52.0,5.0"
    with pytest.raises(Unsupported):
        geo_params(parse("S_WITHIN(geometry, BBOX(4, 51, 5, 52))"))  # coveredBy counts the border
    with pytest.raises(Unsupported):
        geo_params(
            parse("S_INTERSECTS(geometry, POLYGON((0 0, 9 0, 9 9, 0 0), (5 1, 6 1, 6 2, 5 1)))")
        )
