"""FES 2.0 pushdown: what a server declares, what is pushed, and the XML it is sent as.

The capabilities are MapServer 8's own (tests/connectors/wfs_data); what is pushed was
checked against MapServer (tests/connectors/test_wfs_differential.py runs the corpus).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import shapely
from lxml import etree

from connectors.filters import GEOMETRY, Call, Literal, Property
from connectors.wfs.fes import (
    FES,
    FilterCapabilities,
    parse_filter_capabilities,
    pushable,
    render_filter,
    render_sortby,
    resource_id,
    sortable,
)
from connectors.wfs.gmlwrite import GML, densify_step, to_crs
from gateway.query.cql2 import parse

DATA = Path(__file__).parent / "wfs_data"
TYPES = {
    "fid": "integer",
    "genus": "string",
    "street": "string",
    "planting_year": "integer",
    "height_m": "number",
    "last_update": "date",
    "checked": "datetime",
    "protected": "boolean",
}
NS = {"fes": FES, "gml": GML}


@pytest.fixture(scope="module")
def caps() -> FilterCapabilities:
    root = etree.parse(str(DATA / "mapserver8_capabilities.xml")).getroot()
    return parse_filter_capabilities(root)


def cql(text: str):
    return parse(text, "cql2-text")


def xml(expr, caps, crs="EPSG:25832", **options) -> etree._Element:
    text = render_filter(
        expr, geometry_name="msGeometry", crs=crs, caps=caps, types=TYPES, **options
    )
    return etree.fromstring(text.encode())


def test_mapserver_capabilities_are_read_as_declared(caps):
    assert caps.logical
    assert "PropertyIsLike" in caps.comparison and "PropertyIsBetween" in caps.comparison
    assert "PropertyIsNull" not in caps.comparison  # MapServer 8 does not declare it
    assert {"BBOX", "Intersects", "Within", "Contains", "DWithin"} <= caps.spatial
    assert {"Point", "Polygon", "Envelope", "MultiSurface"} <= caps.geometry_operands
    assert caps.temporal == {"During"}
    assert caps.sorting and caps.resource_id
    assert caps.implements("ImplementsStandardFilter")
    assert not caps.implements("ImplementsSpatialFilter")  # declared FALSE
    assert not caps.implements("ImplementsFunctions")


def test_a_document_without_filter_capabilities_declares_nothing():
    root = etree.fromstring(b"<WFS_Capabilities xmlns='http://www.opengis.net/wfs/2.0'/>")
    found = parse_filter_capabilities(root)
    assert found == FilterCapabilities()
    assert not pushable(found, TYPES)(cql("genus = 'Tilia'"))


@pytest.mark.parametrize(
    "text",
    [
        "genus = 'Tilia'",
        "genus <> 'Tilia'",
        "planting_year > 1990",
        "1990 < planting_year",
        "height_m <= 9.5",
        "planting_year = 1990.5",
        "fid = 9007199254740992",
        "planting_year BETWEEN 1980 AND 1990",
        "genus IN ('Tilia', 'Acer')",
        "street LIKE 'Kieler%'",
        "street LIKE 'a\\%b_c!'",
        "NOT (genus = 'Tilia' OR planting_year < 1950)",
        "genus = 'O''Brien \"quoted\" ü 😀'",
    ],
)
def test_what_mapserver_answers_exactly_is_pushed(caps, text):
    assert pushable(caps, TYPES)(cql(text))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("genus > 'Q'", "string order is the database's collation"),
        ("genus BETWEEN 'A' AND 'Q'", "string order again"),
        ("street = 'a\\b'", "a backslash breaks MapServer's expression"),
        ("street = '[genus]'", "MapServer substitutes [attribute]"),
        ("street = '_MAPSERVER_NULL_'", "MapServer's null marker"),
        ("street = '12'", "compared as a number where the layer has no type"),
        ("street LIKE ''", "MapServer refuses an empty pattern"),
        ("street LIKE '%[a]%'", "[ in a pattern"),
        ("planting_year IS NULL", "PropertyIsNull is not declared"),
        ("protected = TRUE", "booleans are not verified"),
        ("checked > TIMESTAMP('2020-01-01T00:00:00.5Z')", "MapServer truncates instants"),
        ("genus IN ('Tilia', NULL)", "a null item differs under NOT"),
        ("CASEI(genus) = 'tilia'", "no function"),
        ("planting_year + 1 > 1990", "no arithmetic"),
        ("T_AFTER(last_update, DATE('2020-01-01'))", "temporal operators are not verified"),
        ("S_INTERSECTS(geometry, BBOX(9.9, 53.5, 10.0, 53.6))", "storage CRS unknown"),
        ("unknown = 'x'", "a property without a type"),
    ],
)
def test_what_could_be_answered_otherwise_stays_in_the_gateway(caps, text, why):
    assert not pushable(caps, TYPES)(cql(text)), why


@pytest.mark.parametrize(
    "text",
    [
        "last_update = DATE('2020-01-26')",
        "last_update < DATE('2020-01-26')",
        "last_update <> DATE('2020-01-26')",
        "last_update BETWEEN DATE('2020-01-01') AND DATE('2020-06-30')",
    ],
)
def test_dates_are_pushed_only_where_the_operator_says_so(caps, text):
    # MapServer over PostGIS answers them, over a GeoPackage it does not
    assert not pushable(caps, TYPES)(cql(text))
    assert pushable(caps, TYPES, dates=True)(cql(text))


def test_an_integer_no_double_holds_is_not_pushed(caps):
    # MapServer reads literals as doubles: 2^53 + 1 would select 2^53
    test = pushable(caps, TYPES)
    assert test(Call("=", (Property("fid"), Literal(2**53))))
    assert not test(Call("=", (Property("fid"), Literal(2**53 + 1))))


def test_a_conjunct_too_long_for_a_url_is_not_pushed(caps):
    many = ", ".join(f"'genus {i}'" for i in range(200))
    assert not pushable(caps, TYPES)(cql(f"genus IN ({many})"))
    assert pushable(caps, TYPES, max_length=100_000)(cql(f"genus IN ({many})"))


def test_only_declared_operators_are_pushed(caps):
    bare = FilterCapabilities(comparison=frozenset({"PropertyIsEqualTo"}))
    test = pushable(bare, TYPES)
    assert test(cql("genus = 'Tilia'"))
    assert not test(cql("genus = 'Tilia' OR genus = 'Acer'"))  # no logical operators
    assert not test(cql("genus IN ('Tilia', 'Acer')"))
    assert test(cql("genus IN ('Tilia')"))
    assert not test(cql("planting_year > 1990"))
    assert not test(cql("genus LIKE 'T%'"))
    with_null = FilterCapabilities(comparison=frozenset({"PropertyIsNull"}))
    assert pushable(with_null, TYPES)(cql("planting_year IS NULL"))


def test_spatial_predicates_are_pushed_where_the_server_need_not_reproject(caps):
    box = cql("S_INTERSECTS(geometry, BBOX(9.9, 53.5, 10.0, 53.6))")
    within = cql("S_WITHIN(geometry, POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)))")
    assert pushable(caps, TYPES, storage_crs="EPSG:4326")(box)
    assert pushable(caps, TYPES, storage_crs="EPSG:4326")(within)
    assert not pushable(caps, TYPES, storage_crs="EPSG:25832")(box)
    assert pushable(caps, TYPES, storage_crs="EPSG:25832", spatial_tolerance=0.05)(box)
    dwithin = cql("S_DWITHIN(geometry, POINT(10 53.55), 100, meters)")
    assert not pushable(caps, TYPES, storage_crs="EPSG:4326", spatial_tolerance=0.05)(dwithin)
    assert pushable(caps, TYPES, storage_crs="EPSG:25832", spatial_tolerance=0.05)(dwithin)
    # UTM's scale error near Hamburg (~3.5e-4) moves a 1 km circle's edge by 35 cm
    far = cql("S_DWITHIN(geometry, POINT(10 53.55), 1000, meters)")
    assert not pushable(caps, TYPES, storage_crs="EPSG:25832", spatial_tolerance=0.05)(far)
    assert not pushable(caps, TYPES, storage_crs="EPSG:3857", spatial_tolerance=0.05)(dwithin)
    collection = cql("S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(10 53.5)))")
    assert not pushable(caps, TYPES, storage_crs="EPSG:4326")(collection)


def test_comparisons_are_written_with_the_property_first(caps):
    root = xml(cql("1990 < planting_year"), caps)
    (elem,) = root
    assert etree.QName(elem).localname == "PropertyIsGreaterThan"
    assert elem.findtext("fes:ValueReference", namespaces=NS) == "planting_year"
    assert elem.findtext("fes:Literal", namespaces=NS) == "1990"


def test_values_are_text_nodes_whatever_they_hold(caps):
    nasty = "</fes:Literal><fes:Or>&amp; ]]> 'x' \"y\""
    expr = Call("=", (Property("genus"), Literal(nasty)))
    root = etree.fromstring(render_filter(expr, geometry_name="g", crs="EPSG:4326", caps=caps))
    assert root.findtext(".//fes:Literal", namespaces=NS) == nasty


def test_date_comparisons_mapserver_widens_are_sent_in_a_form_it_answers_exactly(caps):
    (before,) = xml(cql("last_update < DATE('2020-01-26')"), caps)
    assert etree.QName(before).localname == "PropertyIsLessThanOrEqualTo"
    assert before.findtext("fes:Literal", namespaces=NS) == "2020-01-25"
    (other,) = xml(cql("last_update <> DATE('2020-01-26')"), caps)
    assert etree.QName(other).localname == "Not"
    assert other.findtext("fes:PropertyIsEqualTo/fes:Literal", namespaces=NS) == "2020-01-26"
    before_all = Call("<", (Property("last_update"), Literal(date.min)))
    assert not pushable(caps, TYPES, dates=True)(before_all)


def test_in_becomes_an_or_of_equalities(caps):
    (elem,) = xml(cql("genus IN ('Tilia', 'Acer', 'Quercus')"), caps)
    assert etree.QName(elem).localname == "Or"
    values = [e.findtext("fes:Literal", namespaces=NS) for e in elem]
    assert values == ["Tilia", "Acer", "Quercus"]


def test_like_maps_cql2_wildcards_and_escapes(caps):
    (elem,) = xml(cql("street LIKE 'a\\%b_c!%'"), caps)
    assert elem.get("wildCard") == "%" and elem.get("singleChar") == "_"
    assert elem.get("escapeChar") == "!" and elem.get("matchCase") == "true"
    # CQL2 \% is a literal percent sign, _ one character, ! a plain character
    assert elem.findtext("fes:Literal", namespaces=NS) == "a!%b_c!!%"


def test_geometries_follow_the_axis_order_of_the_crs(caps):
    expr = cql("S_WITHIN(geometry, POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)))")
    root = xml(expr, caps, crs="EPSG:4326", storage_crs="EPSG:4326")
    polygon = root.find(".//gml:Polygon", NS)
    assert polygon.get("srsName") == "urn:ogc:def:crs:EPSG::4326"
    first = polygon.findtext(".//gml:posList", namespaces=NS).split()[:2]
    assert [float(v) for v in first] == [53.5, 9.9]  # EPSG:4326 is latitude first
    root = xml(expr, caps, crs="http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    first = root.findtext(".//gml:posList", namespaces=NS).split()[:2]
    assert [float(v) for v in first] == [9.9, 53.5]
    root = xml(expr, caps, crs="EPSG:25832")
    polygon = root.find(".//gml:Polygon", NS)
    assert polygon.get("srsName") == "urn:ogc:def:crs:EPSG::25832"
    easting, northing = (
        float(v) for v in polygon.findtext(".//gml:posList", namespaces=NS).split()[:2]
    )
    assert 550_000 < easting < 580_000 and 5_920_000 < northing < 5_940_000


def test_within_with_the_literal_first_is_contains(caps):
    expr = cql("S_WITHIN(POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)), geometry)")
    (elem,) = xml(expr, caps, crs="EPSG:4326")
    assert etree.QName(elem).localname == "Contains"
    assert elem.findtext("fes:ValueReference", namespaces=NS) == "msGeometry"


def test_a_box_goes_as_bbox_only_to_a_server_without_intersects():
    minimal = FilterCapabilities(
        spatial=frozenset({"BBOX"}), geometry_operands=frozenset({"Envelope"})
    )
    expr = Call("s_intersects", (Property(GEOMETRY), Literal(shapely.box(9.9, 53.5, 10.0, 53.6))))
    assert pushable(minimal, TYPES, storage_crs="EPSG:4326")(expr)
    root = etree.fromstring(
        render_filter(expr, geometry_name="geom", crs="EPSG:4326", caps=minimal).encode()
    )
    envelope = root.find("fes:BBOX/gml:Envelope", NS)
    assert envelope.findtext("gml:lowerCorner", namespaces=NS) == "53.5 9.9"
    assert envelope.findtext("gml:upperCorner", namespaces=NS) == "53.6 10.0"
    triangle = Literal(shapely.Polygon([(9.9, 53.5), (10, 53.5), (10, 53.6)]))
    assert not pushable(minimal, TYPES, storage_crs="EPSG:4326")(
        Call("s_intersects", (Property(GEOMETRY), triangle))
    )


def test_densified_edges_stay_within_the_tolerance():
    box = shapely.box(9.9, 53.5, 10.1, 53.6)
    moved = to_crs(box, "EPSG:25832", tolerance=0.01)
    assert len(moved.exterior.coords) > 4 * (0.2 / densify_step(0.01)) * 0.5
    # the CRS84 edge's midpoints, moved exactly, lie on the densified outline
    mids = shapely.points([(10.0, 53.5), (10.0, 53.6), (9.9, 53.55), (10.1, 53.55)])
    exact = to_crs(shapely.MultiPoint(mids), "EPSG:25832")
    assert max(moved.exterior.distance(p) for p in exact.geoms) < 0.01


def test_sortby_and_sortability(caps):
    assert render_sortby([("planting_year", True), ("fid", False)]) == "planting_year ASC,fid DESC"
    assert sortable(caps, TYPES, [("last_update", True)])
    assert not sortable(caps, TYPES, [("fid", True)])  # MapServer sorts numbers as text
    assert sortable(caps, TYPES, [("planting_year", True), ("fid", True)], typed_sort=True)
    assert not sortable(caps, TYPES, [("planting_year", False)], typed_sort=True)  # nulls first
    assert not sortable(caps, TYPES, [("genus", True)])  # collation
    assert sortable(caps, TYPES, [("genus", True)], ordered_strings=True)
    assert not sortable(FilterCapabilities(), TYPES, [("last_update", True)])


def test_resource_ids_are_attributes_not_markup():
    root = etree.fromstring(resource_id(["trees.1", 'x"/><evil a="']).encode())
    assert [e.get("rid") for e in root] == ["trees.1", 'x"/><evil a="']
