"""Streamed GML: WFS answers of every version become flat records in CRS84, in flat memory,
and anything else (exception reports, broken or hostile XML) a SourceError."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Iterable

import pytest
from pyproj import Transformer

from connectors.errors import SourceError
from connectors.wfs.gml import GmlFeatures, parse_feature_collection

WFS2 = (
    'xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" '
    'xmlns:ms="http://mapserver.gis.umn.edu/mapserver" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
GML31 = (
    'xmlns:wfs="http://www.opengis.net/wfs" xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:ms="http://mapserver.gis.umn.edu/mapserver"'
)
FIELDS = {"fid": "integer", "genus": "string", "height_m": "number", "last_update": "date"}
FIELDS |= {"protected": "boolean", "street": "string"}
TO84 = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)


async def chunked(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read(data: bytes | str, size: int = 7, **options) -> tuple[GmlFeatures, list[dict]]:
    raw = data.encode() if isinstance(data, str) else data
    options.setdefault("fields", FIELDS)
    options.setdefault("geometry_name", "msGeometry")
    options.setdefault("empty_is_null", True)  # as MapServer means it
    features = GmlFeatures(chunked(raw, size), **options)
    await features.start()
    return features, [r async for r in features]


def run(coro):
    return asyncio.run(coro)


def collection(members: str, attrs: str = 'numberMatched="2" numberReturned="2"') -> str:
    head = f'<?xml version="1.0"?><wfs:FeatureCollection {WFS2} {attrs}>'
    return f"{head}{members}</wfs:FeatureCollection>"


def member(fid: int, geometry: str, props: str = "") -> str:
    return (
        f'<wfs:member><ms:trees gml:id="trees.{fid}"><gml:boundedBy><gml:Envelope '
        f'srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>1 2</gml:lowerCorner>'
        f"<gml:upperCorner>3 4</gml:upperCorner></gml:Envelope></gml:boundedBy>"
        f"<ms:msGeometry>{geometry}</ms:msGeometry><ms:fid>{fid}</ms:fid>{props}"
        f"</ms:trees></wfs:member>"
    )


POINT_25832 = (
    '<gml:Point gml:id="p" srsName="urn:ogc:def:crs:EPSG::25832">'
    "<gml:pos>566000.5 5934000.25</gml:pos></gml:Point>"
)


def test_a_wfs2_collection_becomes_typed_records_in_crs84():
    props = (
        "<ms:genus>Tilia</ms:genus><ms:height_m>12.5</ms:height_m>"
        '<ms:last_update gml:id="x"><gml:timePosition>2020-01-26</gml:timePosition>'
        "</ms:last_update><ms:protected>true</ms:protected>"
    )
    nil = '<ms:genus xsi:nil="true"/><ms:street></ms:street>'
    doc = collection(member(1, POINT_25832, props) + member(2, POINT_25832, nil))
    features, records = run(read(doc))
    assert (features.number_matched, features.number_returned) == (2, 2)
    first, second = records
    assert first["id"] == "trees.1"
    assert first["properties"] == {
        "fid": 1,
        "genus": "Tilia",
        "height_m": 12.5,
        "last_update": "2020-01-26",
        "protected": True,
        "street": None,
    }
    x, y = TO84.transform(566000.5, 5934000.25)
    assert first["geometry"] == {"type": "Point", "coordinates": [x, y]}  # not rounded
    assert second["properties"]["genus"] is None  # xsi:nil
    assert second["properties"]["street"] is None  # MapServer's null string
    assert second["properties"]["height_m"] is None  # absent


def test_empty_strings_are_kept_unless_they_mean_null():
    doc = collection(member(1, POINT_25832, "<ms:street></ms:street><ms:height_m/>"))
    _, records = run(read(doc, empty_is_null=False))
    assert records[0]["properties"]["street"] == ""
    assert records[0]["properties"]["height_m"] is None  # no number is empty


def test_a_property_given_by_link_is_its_href():
    props = '<ms:street xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="https://x/p.pdf"/>'
    _, records = run(read(collection(member(1, POINT_25832, props))))
    assert records[0]["properties"]["street"] == "https://x/p.pdf"


def test_unknown_number_matched_is_none():
    doc = collection(member(1, POINT_25832), 'numberMatched="unknown" numberReturned="1"')
    features, records = run(read(doc))
    assert features.number_matched is None and features.number_returned == 1
    assert len(records) == 1


@pytest.mark.parametrize(
    ("srs", "coords", "expected"),
    [
        ("urn:ogc:def:crs:EPSG::4326", "53.5 10.0", [10.0, 53.5]),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", "53.5 10.0", [10.0, 53.5]),
        ("EPSG:4326", "53.5 10.0", [10.0, 53.5]),  # as MapServer writes it in WFS 1.1
        ("http://www.opengis.net/gml/srs/epsg.xml#4326", "10.0 53.5", [10.0, 53.5]),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "10.0 53.5", [10.0, 53.5]),
    ],
)
def test_axis_order_follows_the_srs_name(srs, coords, expected):
    point = f'<gml:Point srsName="{srs}"><gml:pos>{coords}</gml:pos></gml:Point>'
    _, records = run(read(collection(member(1, point))))
    assert records[0]["geometry"]["coordinates"] == pytest.approx(expected, abs=1e-12)


def test_the_default_crs_serves_geometries_without_srs_name():
    point = "<gml:Point><gml:pos>566000.5 5934000.25</gml:pos></gml:Point>"
    _, records = run(read(collection(member(1, point)), crs="EPSG:25832"))
    assert records[0]["geometry"]["coordinates"] == list(TO84.transform(566000.5, 5934000.25))


RING = "0 0 10 0 10 10 0 10 0 0"
HOLE = "2 2 2 4 4 4 4 2 2 2"
GEOMETRIES = [
    (
        '<gml:LineString srsName="urn:ogc:def:crs:OGC:1.3:CRS84" srsDimension="3">'
        "<gml:posList>1 2 9 3 4 9</gml:posList></gml:LineString>",
        {"type": "LineString", "coordinates": [[1.0, 2.0], [3.0, 4.0]]},
    ),
    (
        '<gml:Polygon srsName="urn:ogc:def:crs:OGC:1.3:CRS84"><gml:exterior><gml:LinearRing>'
        f"<gml:posList>{RING}</gml:posList></gml:LinearRing></gml:exterior><gml:interior>"
        f"<gml:LinearRing><gml:posList>{HOLE}</gml:posList></gml:LinearRing></gml:interior>"
        "</gml:Polygon>",
        {
            "type": "Polygon",
            "coordinates": [
                [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]],
                [[2.0, 2.0], [2.0, 4.0], [4.0, 4.0], [4.0, 2.0], [2.0, 2.0]],
            ],
        },
    ),
    (
        '<gml:MultiSurface srsName="urn:ogc:def:crs:OGC:1.3:CRS84"><gml:surfaceMember>'
        "<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>0 0 1 0 1 1 0 0"
        "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
        "<gml:surfaceMember><gml:Surface><gml:patches><gml:PolygonPatch><gml:exterior>"
        "<gml:LinearRing><gml:posList>5 5 6 5 6 6 5 5</gml:posList></gml:LinearRing>"
        "</gml:exterior></gml:PolygonPatch></gml:patches></gml:Surface></gml:surfaceMember>"
        "</gml:MultiSurface>",
        {
            "type": "MultiPolygon",
            "coordinates": [
                [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]],
                [[[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 5.0]]],
            ],
        },
    ),
    (
        '<gml:MultiCurve srsName="urn:ogc:def:crs:OGC:1.3:CRS84"><gml:curveMember>'
        "<gml:Curve><gml:segments><gml:LineStringSegment><gml:posList>0 0 1 1</gml:posList>"
        "</gml:LineStringSegment><gml:LineStringSegment><gml:posList>1 1 2 0</gml:posList>"
        "</gml:LineStringSegment></gml:segments></gml:Curve></gml:curveMember>"
        "<gml:curveMember><gml:LineString><gml:pos>7 7</gml:pos><gml:pos>8 8</gml:pos>"
        "</gml:LineString></gml:curveMember></gml:MultiCurve>",
        {
            "type": "MultiLineString",
            "coordinates": [[[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], [[7.0, 7.0], [8.0, 8.0]]],
        },
    ),
    (
        '<gml:MultiPoint srsName="urn:ogc:def:crs:OGC:1.3:CRS84"><gml:pointMembers>'
        "<gml:Point><gml:pos>1 2</gml:pos></gml:Point><gml:Point><gml:pos>3 4</gml:pos>"
        "</gml:Point></gml:pointMembers></gml:MultiPoint>",
        {"type": "MultiPoint", "coordinates": [[1.0, 2.0], [3.0, 4.0]]},
    ),
]


@pytest.mark.parametrize(("gml", "geojson"), GEOMETRIES)
def test_gml32_geometries(gml, geojson):
    _, records = run(read(collection(member(1, gml))))
    assert records[0]["geometry"] == geojson


def test_gml2_and_31_feature_members_with_coordinates():
    doc = (
        f'<wfs:FeatureCollection {GML31} numberOfFeatures="2">'
        '<gml:featureMember><ms:trees fid="trees.7"><ms:msGeometry>'
        '<gml:Polygon srsName="http://www.opengis.net/gml/srs/epsg.xml#4326"><gml:outerBoundaryIs>'
        "<gml:LinearRing>"
        '<gml:coordinates decimal="." cs="," ts=" ">0,0 1,0 1,1 0,0</gml:coordinates>'
        "</gml:LinearRing></gml:outerBoundaryIs></gml:Polygon></ms:msGeometry>"
        "<ms:fid>7</ms:fid></ms:trees></gml:featureMember>"
        "<gml:featureMembers><ms:trees fid='trees.8'><ms:msGeometry>"
        '<gml:MultiLineString srsName="http://www.opengis.net/gml/srs/epsg.xml#4326"><gml:lineStringMember><gml:LineString>'
        "<gml:coordinates>1,2 3,4</gml:coordinates></gml:LineString></gml:lineStringMember>"
        "</gml:MultiLineString></ms:msGeometry><ms:fid>8</ms:fid></ms:trees>"
        "<ms:trees fid='trees.9'><ms:msGeometry><gml:Point srsName='http://www.opengis.net/gml/srs/epsg.xml#4326'>"
        "<gml:coord><gml:X>5</gml:X><gml:Y>6</gml:Y></gml:coord></gml:Point></ms:msGeometry>"
        "<ms:fid>9</ms:fid></ms:trees></gml:featureMembers></wfs:FeatureCollection>"
    )
    features, records = run(read(doc))
    assert features.number_matched == 2
    assert [r["id"] for r in records] == ["trees.7", "trees.8", "trees.9"]
    assert records[0]["geometry"]["coordinates"] == [
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    ]
    assert records[1]["geometry"] == {
        "type": "MultiLineString",
        "coordinates": [[[1.0, 2.0], [3.0, 4.0]]],
    }
    assert records[2]["geometry"] == {"type": "Point", "coordinates": [5.0, 6.0]}


def test_a_feature_without_geometry_has_none():
    doc = collection(
        "<wfs:member><ms:trees gml:id='t.1'><ms:fid>1</ms:fid></ms:trees></wfs:member>"
    )
    _, records = run(read(doc))
    assert records == [
        {"id": "t.1", "properties": {**dict.fromkeys(FIELDS), "fid": 1}, "geometry": None}
    ]


def test_parse_feature_collection_yields_the_records():
    doc = collection(member(1, POINT_25832) + member(2, POINT_25832)).encode()

    async def go():
        found = parse_feature_collection(chunked(doc), fields=FIELDS, geometry_name="msGeometry")
        return [r["id"] async for r in found]

    assert run(go()) == ["trees.1", "trees.2"]


EXCEPTION = (
    '<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" '
    'version="2.0.0"><ows:Exception exceptionCode="InvalidParameterValue" locator="filter">'
    "<ows:ExceptionText>msWFSGetFeature(): WFS server error. Invalid filter</ows:ExceptionText>"
    "</ows:Exception></ows:ExceptionReport>"
)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (EXCEPTION, "Invalid filter"),
        (collection(member(1, POINT_25832))[:-30], "malformed"),
        ("", "ended before its root|empty"),
        ("this is not xml", "not an XML document"),
        ('{"type": "FeatureCollection"}', "not an XML document"),
        (collection(member(1, POINT_25832) + "<wfs:truncatedResponse/>"), "truncated"),
        (collection(member(1, "<gml:Point><gml:pos>1 2 3</gml:pos></gml:Point>")), "2D"),
        (collection(member(1, POINT_25832, "<ms:fid>x</ms:fid>")), "not a integer"),
        (
            collection(
                member(
                    1,
                    "<gml:Curve><gml:segments><gml:Arc><gml:posList>0 0 1 1 2 0</gml:posList>"
                    "</gml:Arc></gml:segments></gml:Curve>",
                )
            ),
            "Arc curve segment",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            '"&lol;&lol;&lol;&lol;&lol;">]>'
            + collection(member(1, POINT_25832, "<ms:genus>&lol2;</ms:genus>"))[21:],
            "DOCTYPE",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + collection(member(1, POINT_25832, "<ms:genus>&xxe;</ms:genus>"))[21:],
            "DOCTYPE",
        ),
        (collection(member(1, POINT_25832, "<ms:genus>&undefined;</ms:genus>")), "malformed"),
    ],
)
def test_anything_but_a_feature_collection_is_a_source_error(doc, message):
    with pytest.raises(SourceError, match=message):
        run(read(doc, size=64))


def test_an_exception_report_in_one_chunk_is_read_whole():
    with pytest.raises(SourceError, match="InvalidParameterValue|Invalid filter"):
        run(read(EXCEPTION, size=1 << 20))


async def generated(count: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A WFS 2.0 answer of `count` features, produced as it is read."""
    counts = f'numberMatched="{count}" numberReturned="{count}"'
    head = f'<?xml version="1.0"?><wfs:FeatureCollection {WFS2} {counts}>'
    buffer = bytearray(head.encode())
    for i in range(count):
        x, y = 560000 + (i % 1000) * 10.5, 5930000 + (i // 1000) * 10.25
        buffer += (
            f'<wfs:member><ms:trees gml:id="trees.{i}"><ms:msGeometry><gml:Point '
            f'srsName="urn:ogc:def:crs:EPSG::25832"><gml:pos>{x} {y}</gml:pos></gml:Point>'
            f"</ms:msGeometry><ms:fid>{i}</ms:fid><ms:genus>Tilia</ms:genus>"
            f"<ms:height_m>{i % 30}.5</ms:height_m></ms:trees></wfs:member>"
        ).encode()
        if len(buffer) >= chunk:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"</wfs:FeatureCollection>"
    yield bytes(buffer)


def _count(count: int) -> tuple[int, int]:
    async def go() -> int:
        seen = 0
        features = GmlFeatures(generated(count), fields=FIELDS, geometry_name="msGeometry")
        async for record in features:
            seen += 1
            assert record["geometry"] is not None
        return seen

    tracemalloc.start()
    try:
        seen = run(go())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seen, peak


def test_memory_stays_flat_however_many_features_a_page_holds():
    small_seen, small_peak = _count(2_000)
    seen, peak = _count(100_000)  # ~25 MB of GML
    assert (small_seen, seen) == (2_000, 100_000)
    assert peak < 8 * 1024 * 1024, peak
    assert peak < small_peak * 3, (small_peak, peak)  # 50× the features, not 50× the memory


def _ids(records: Iterable[dict]) -> list[str]:
    return [r["id"] for r in records]


def test_chunk_boundaries_do_not_matter():
    doc = collection(
        "".join(member(i, POINT_25832, "<ms:genus>Tilia</ms:genus>") for i in range(600))
    )
    expected = _ids(run(read(doc, size=1 << 20))[1])
    for size in (1, 13, 4096):
        assert _ids(run(read(doc, size=size))[1]) == expected
    assert len(expected) == 600
