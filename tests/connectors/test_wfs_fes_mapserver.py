"""fes.py against a real MapServer 8 (tests/mapserver.py), differentially.

For a corpus of CQL2 filters, each one `pushable` accepts is rendered by `render_filter`,
sent as the GetFeature FILTER, and must select exactly the trees that the gateway's
reference evaluation selects over the same table read by the `postgis` connector; the
corpus also says which filters must be pushed (so pushdown is really exercised) and which
must not. The quirks that keep filters in the gateway are shown too: sent anyway,
MapServer answers them wrongly.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import shapely
from lxml import etree

from connectors.filters import Call, Literal, Property
from connectors.wfs.fes import (
    parse_filter_capabilities,
    pushable,
    render_filter,
    render_sortby,
    sortable,
)
from connectors.wfs.gml import GmlFeatures
from connectors.wfs.gmlwrite import to_crs
from gateway.query.cql2 import parse
from gateway.query.evaluate import compile_predicate
from gateway.query.spatial import distance_to
from tests.connectors.wfs_mapserver import (
    DATA,
    STORAGE,
    TOLERANCE,
    TYPES,
    caps_fixture,  # noqa: F401
    features_fixture,  # noqa: F401
    get_feature,
    naive_filter,
    reference,
    render,
    selected,
    wfs_fixture,  # noqa: F401
)
from tests.mapserver import MapServerHandle, mapserver_trees_fixture, start_mapserver  # noqa: F401
from tests.postgis_fixtures import PostGIS, loader, make, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration


PUSHED = [
    "genus = 'Tilia'",
    "genus <> 'Tilia'",
    "district = 'Hamburg-Nord'",
    "street = 'Kieler Straße 2'",
    "street <> 'Kieler Straße 2'",
    "species_scientific = 'Tilia × europaea'",
    "planting_year > 1990",
    "planting_year <> 1990",
    "1990 >= planting_year",
    "planting_year = 1990.5",
    "planting_year > 1990.5",
    "height_m < 9.5",
    "height_m = 10",
    "crown_diameter_m >= 6.6",
    "trunk_circumference_cm <= 81",
    "planting_year BETWEEN 1980 AND 1990",
    "height_m BETWEEN 8.5 AND 12",
    "genus IN ('Tilia', 'Acer', 'Nope')",
    "planting_year IN (1990, 1991, 2020)",
    "NOT (genus IN ('Tilia', 'Acer'))",
    "species_scientific LIKE 'Tilia%'",
    "species_scientific LIKE 'Tilia _ordata'",
    "species_scientific LIKE 'Tilia\\_%'",  # an escaped _ is no wildcard: nothing
    "species_scientific LIKE '%a'",
    "species_german LIKE '%ü%'",
    "species_german LIKE '%-%'",
    "species_scientific LIKE 'tilia%'",  # case-sensitive
    "species_scientific LIKE '%(%'",
    "species_scientific LIKE 'Tilia.%'",
    "species_scientific LIKE '%!%'",
    "street LIKE '%Straße 1_'",
    "genus = 'Tilia' AND planting_year > 1990 AND height_m < 15",
    "genus = 'Tilia' OR planting_year < 1950",
    "NOT (street = 'Kieler Straße 2' OR planting_year < 1950)",
    "NOT (planting_year = 1990)",
    "NOT (height_m > 10 AND genus <> 'Acer')",
]
DATES = [  # pushed with dates=True: MapServer over PostGIS, with the rewrites
    "last_update = DATE('2020-01-26')",
    "last_update < DATE('2020-01-26')",
    "last_update <= DATE('2020-01-26')",
    "last_update > DATE('2020-01-26')",
    "last_update >= DATE('2020-01-26')",
    "last_update <> DATE('2020-01-26')",
    "last_update BETWEEN DATE('2020-01-01') AND DATE('2020-06-30')",
    "NOT (last_update < DATE('2021-03-01') OR genus = 'Tilia')",
]
SPATIAL = [
    "S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.58))",
    "S_WITHIN(geometry, POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)))",
    "S_CONTAINS(POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)), geometry)",
    "S_DISJOINT(geometry, BBOX(9.95, 53.55, 10.0, 53.58))",
    "S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.58)) AND genus = 'Tilia'",
    "NOT S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.58)) OR genus = 'Acer'",
]
RESIDUAL = [  # stays in the gateway, with the reason
    ("genus > 'Q'", "string order is the database's collation"),
    ("street = 'a\\b'", "a backslash breaks MapServer's expression"),
    ("street = '[genus]'", "MapServer substitutes [attribute]"),
    ("street = '12'", "text that reads as a number"),
    ("planting_year IS NULL", "PropertyIsNull is not declared"),
    ("species_scientific LIKE ''", "MapServer refuses an empty pattern"),
    ("T_AFTER(last_update, DATE('2020-01-01'))", "temporal operators are not verified"),
    ("S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.58))", "reprojection (no tolerance)"),
]


def test_the_capabilities_kept_as_test_data_are_mapservers(caps):
    kept = parse_filter_capabilities(
        etree.parse(str(DATA / "mapserver8_capabilities.xml")).getroot()
    )
    assert caps == kept


@pytest.mark.parametrize("text", PUSHED)
def test_pushed_filters_select_what_the_gateway_selects(wfs, caps, features, text):
    expr = parse(text, "cql2-text")
    assert pushable(caps, TYPES, storage_crs=STORAGE)(expr), "must be pushed"
    assert sorted(selected(wfs, render(expr, caps))) == reference(features, expr)


@pytest.mark.parametrize("text", DATES)
def test_date_filters_on_postgis_select_what_the_gateway_selects(wfs, caps, features, text):
    expr = parse(text, "cql2-text")
    assert not pushable(caps, TYPES, storage_crs=STORAGE)(expr)
    assert pushable(caps, TYPES, storage_crs=STORAGE, dates=True)(expr)
    assert sorted(selected(wfs, render(expr, caps, dates=True))) == reference(features, expr)


def test_mapserver_over_a_geopackage_compares_dates_as_numbers_with_text(wfs):
    """Why dates are opt-in: the fixture's GeoPackage layer holds a tree planted on
    1990-04-01, and MapServer finds none equal to that date, nor any after 1980."""
    gml = {"TYPENAMES": "ms:baeume", "OUTPUTFORMAT": "application/gml+xml; version=3.2"}
    every = get_feature(wfs, **gml).text
    assert "1990-04-01" in every
    for op in ("PropertyIsEqualTo", "PropertyIsGreaterThan"):
        literal = "1990-04-01" if op == "PropertyIsEqualTo" else "1980-01-01"
        answer = get_feature(wfs, FILTER=naive_filter(op, "pflanzdatum", literal), **gml).text
        assert 'numberReturned="0"' in answer, op


GPKG_TYPES: dict[str, Any] = {"fid": "integer", "art": "string", "hoehe": "number"}
GPKG_TYPES |= {"pflanzdatum": "date", "geschuetzt": "integer"}


@pytest.mark.parametrize(
    "text",
    [
        "hoehe = 12.5",
        "NOT (hoehe = 12.5)",
        "hoehe BETWEEN 8 AND 13",
        "art LIKE '%e'",
        "NOT (art LIKE '%e')",
        "art LIKE 'li%'",
        "NOT (art IN ('Linde', 'Eiche'))",
    ],
)
def test_over_a_geopackage_numbers_strings_and_likes_select_what_the_gateway_selects(
    wfs, caps, text
):
    """MapServer over OGR: the same corpus minus dates (NOT over null values included)."""
    expr = parse(text, "cql2-text")
    assert pushable(caps, GPKG_TYPES)(expr)
    gml = {"TYPENAMES": "ms:baeume", "OUTPUTFORMAT": "application/gml+xml; version=3.2"}

    async def read(**params: str) -> list[dict[str, Any]]:
        async def chunks():
            yield get_feature(wfs, **gml, **params).content

        found = GmlFeatures(chunks(), fields=GPKG_TYPES, geometry_name="msGeometry")
        return [{"type": "Feature", **r} async for r in found]

    every = asyncio.run(read())
    assert len(every) == 5 and any(f["properties"]["hoehe"] is None for f in every)
    test = compile_predicate(expr, types=GPKG_TYPES)
    expected = sorted(f["properties"]["art"] for f in every if test(f))
    xml = render_filter(expr, geometry_name="msGeometry", crs=STORAGE, caps=caps)
    assert sorted(f["properties"]["art"] for f in asyncio.run(read(FILTER=xml))) == expected


def test_the_corpus_is_not_trivial(features):
    counts = [len(reference(features, parse(t, "cql2-text"))) for t in PUSHED + DATES + SPATIAL]
    assert sum(1 for c in counts if 0 < c < len(features)) > len(counts) * 3 // 4


@pytest.mark.parametrize("text", SPATIAL)
def test_spatial_filters_within_the_tolerance_select_what_the_gateway_selects(
    wfs, caps, features, text
):
    expr = parse(text, "cql2-text")
    options = {"storage_crs": STORAGE, "spatial_tolerance": TOLERANCE}
    assert not pushable(caps, TYPES, storage_crs=STORAGE)(expr)  # not exact by default
    assert pushable(caps, TYPES, **options)(expr)
    literals = [n.value for n in _walk(expr) if isinstance(n, Literal)]
    edges = [to_crs(g.boundary, STORAGE, 0.0001) for g in literals if hasattr(g, "boundary")]
    points = [shapely.geometry.shape(f["geometry"]) for f in features if f["geometry"]]
    moved = to_crs(shapely.MultiPoint(points), STORAGE)
    # no tree so close to an edge that the tolerance could decide it
    nearest = min(edge.distance(p) for edge in edges for p in moved.geoms)
    assert nearest > 2 * TOLERANCE, nearest
    assert sorted(selected(wfs, render(expr, caps, **options))) == reference(features, expr)


def test_dwithin_within_the_tolerance_selects_what_the_gateway_selects(wfs, caps, features):
    """The server measures in the UTM plane, the gateway along the ellipsoid: for 150 m
    they part by ~5 cm, within the tolerance, and no tree lies in that band here."""
    x, y = features[0]["geometry"]["coordinates"]
    text = f"S_DWITHIN(geometry, POINT({x + 0.0004} {y + 0.0003}), 150, meters)"
    expr = parse(text, "cql2-text")
    options = {"storage_crs": STORAGE, "spatial_tolerance": TOLERANCE * 2}
    assert pushable(caps, TYPES, **options)(expr)
    centre = distance_to(shapely.Point(x + 0.0004, y + 0.0003))
    band = [f for f in features if f["geometry"] and abs(centre(_shape(f)) - 150) < 0.5]
    assert band == []
    expected = reference(features, expr)
    assert 1 < len(expected) < 50
    assert sorted(selected(wfs, render(expr, caps, **options))) == expected


def _shape(feature: dict[str, Any]) -> shapely.Geometry:
    return shapely.geometry.shape(feature["geometry"])


def _walk(expr):
    yield expr
    if isinstance(expr, Call):
        for arg in expr.args:
            yield from _walk(arg)


@pytest.mark.parametrize(("text", "why"), RESIDUAL)
def test_filters_mapserver_would_answer_otherwise_stay_in_the_gateway(caps, text, why):
    assert not pushable(caps, TYPES, storage_crs=STORAGE)(parse(text, "cql2-text")), why


def test_mapserver_widens_date_literals_to_their_day(wfs, features):
    # < and <> sent as such answer wrongly; render_filter sends <= the day before and Not(=)
    before = Call("<", (Property("last_update"), Literal(_date("2020-01-26"))))
    wrong = selected(wfs, naive_filter("PropertyIsLessThan", "last_update", "2020-01-26"))
    assert sorted(wrong) != reference(features, before)
    other = selected(wfs, naive_filter("PropertyIsNotEqualTo", "last_update", "2020-01-26"))
    assert other == []  # every tree but one has another date


def test_mapserver_substitutes_attributes_in_literals(wfs, features):
    everything = selected(wfs, naive_filter("PropertyIsEqualTo", "street", "[street]"))
    assert len(everything) > len(features) // 2  # 'street = [street]' is true for all


def test_mapserver_fails_on_a_trailing_backslash(wfs):
    answer = get_feature(wfs, FILTER=naive_filter("PropertyIsEqualTo", "street", "abc\\"))
    assert "ExceptionReport" in answer.text


def _date(text: str):
    from datetime import date

    return date.fromisoformat(text)


def sorted_fids(wfs: str, keys: list[tuple[str, bool]]) -> list[int]:
    answer = get_feature(wfs, SORTBY=render_sortby(keys))
    return [f["properties"]["fid"] for f in answer.json()["features"]]


def test_ascending_dates_sort_as_the_gateway_sorts(wfs, caps, features):
    keys = [("last_update", True)]
    assert sortable(caps, TYPES, keys)
    got = sorted_fids(wfs, keys)
    dates = {int(f["id"]): f["properties"]["last_update"] for f in features}
    assert [dates[fid] for fid in got] == sorted(dates.values())


def test_mapserver_sorts_numbers_as_text(wfs, caps):
    assert not sortable(caps, TYPES, [("fid", True)])
    assert sorted_fids(wfs, [("fid", True)])[:3] == [1, 10, 100]


def test_pages_of_a_pushed_filter_join_up_to_the_whole_answer(wfs, caps, features):
    """SORTBY fid is MapServer's text order, not the gateway's, but a stable total order:
    pages of 97 neither repeat nor skip a tree."""
    expr = parse("genus IN ('Tilia', 'Acer') AND planting_year > 1970", "cql2-text")
    filter_xml = render(expr, caps)
    pages: list[int] = []
    for start in range(0, 2000, 97):
        page = selected(wfs, filter_xml, SORTBY="fid ASC", COUNT="97", STARTINDEX=str(start))
        pages.extend(page)
        if len(page) < 97:
            break
    assert len(pages) == len(set(pages)) > 3 * 97
    assert sorted(pages) == reference(features, expr)
