"""WFS-T 2.0 writes of the `wfs` connector on the wire (respx): the Transaction documents
sent (namespaces, schema order, typed values, NULLs, GML in the server's CRS and axis
order, how a feature is selected), the answers read (InsertResults, zero totals, exception
reports by whose fault, garbage), no retry, and no writes where config or server say no."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from lxml import etree
from pyproj import Transformer

from connectors.errors import (
    SourceConflict,
    SourceError,
    SourceRefused,
    SourceRejectedValue,
    SourceTimeout,
)
from connectors.remote.xml import parse_xml
from connectors.wfs import WFSConnector
from connectors.wfs.service import parse_capabilities

pytestmark = pytest.mark.anyio
URL = "https://wfs.example/ows"
APP = "http://app.example"
WFS = "http://www.opengis.net/wfs/2.0"
FES = "http://www.opengis.net/fes/2.0"
GML = "http://www.opengis.net/gml/3.2"
NS = {"wfs": WFS, "fes": FES, "gml": GML, "app": APP}

TRANSACTION_OPERATION = """<ows:Operation name="Transaction">
      <ows:DCP><ows:HTTP><ows:Post href="https://wfs.example/ows"/></ows:HTTP></ows:DCP>
    </ows:Operation>"""
TRANSACTIONAL = """<ows:Constraint name="ImplementsTransactionalWFS">
      <ows:NoValues/><ows:DefaultValue>TRUE</ows:DefaultValue></ows:Constraint>"""
CAPABILITIES = """<?xml version="1.0" encoding="UTF-8"?>
<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0"
  xmlns:ows="http://www.opengis.net/ows/1.1">
  <ows:OperationsMetadata>
    <ows:Operation name="GetFeature">
      <ows:DCP><ows:HTTP><ows:Get href="https://wfs.example/ows"/></ows:HTTP></ows:DCP>
      <ows:Parameter name="outputFormat"><ows:AllowedValues>
        <ows:Value>application/gml+xml; version=3.2</ows:Value>
      </ows:AllowedValues></ows:Parameter>
    </ows:Operation>
    %(operation)s
    <ows:Constraint name="ImplementsResultPaging">
      <ows:NoValues/><ows:DefaultValue>TRUE</ows:DefaultValue></ows:Constraint>
    %(constraint)s
  </ows:OperationsMetadata>
  <wfs:FeatureTypeList><wfs:FeatureType>
    <wfs:Name xmlns:app="http://app.example">app:trees</wfs:Name>
    <wfs:Title>Trees</wfs:Title>
    <wfs:DefaultCRS>urn:ogc:def:crs:EPSG::25832</wfs:DefaultCRS>
    <wfs:OtherCRS>urn:ogc:def:crs:EPSG::4326</wfs:OtherCRS>
    <ows:WGS84BoundingBox><ows:LowerCorner>9.7 53.3</ows:LowerCorner>
      <ows:UpperCorner>10.4 53.8</ows:UpperCorner></ows:WGS84BoundingBox>
  </wfs:FeatureType></wfs:FeatureTypeList>
</wfs:WFS_Capabilities>"""
# the geometry between the properties, as a schema may put it
SCHEMA = b"""<?xml version="1.0"?>
<schema xmlns="http://www.w3.org/2001/XMLSchema" xmlns:app="http://app.example"
  xmlns:gml="http://www.opengis.net/gml/3.2" targetNamespace="http://app.example">
  <element name="trees" type="app:treesType" substitutionGroup="gml:AbstractFeature"/>
  <complexType name="treesType"><complexContent><extension base="gml:AbstractFeatureType">
    <sequence>
      <element name="fid" type="integer"/>
      <element name="name" type="string"/>
      <element name="geom" type="gml:GeometryPropertyType"/>
      <element name="height" type="double"/>
      <element name="healthy" type="boolean"/>
      <element name="planted" type="date"/>
    </sequence>
  </extension></complexContent></complexType>
</schema>"""
POINT = {"type": "Point", "coordinates": [10.0, 53.55]}
RECORD = {
    "id": None,
    "properties": {
        "planted": "2024-03-01",
        "name": "Linde",
        "height": 12,
        "healthy": False,
        "fid": None,
    },
    "geometry": POINT,
}
REPORT = """<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1"
  version="2.0.0"><ows:Exception exceptionCode="%s" locator="Transaction">
  <ows:ExceptionText>%s</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"""


def capabilities(transactional: bool = True) -> bytes:
    parts = {
        "operation": TRANSACTION_OPERATION if transactional else "",
        "constraint": TRANSACTIONAL if transactional else "",
    }
    return (CAPABILITIES % parts).encode()


def answer(inserted: int = 0, updated: int = 0, replaced: int = 0, deleted: int = 0,
           rid: str | None = None) -> httpx.Response:  # fmt: skip
    results = (
        f'<wfs:InsertResults><wfs:Feature><fes:ResourceId rid="{rid}"/></wfs:Feature>'
        "</wfs:InsertResults>"
        if rid
        else ""
    )
    body = f"""<?xml version="1.0"?><wfs:TransactionResponse version="2.0.0"
      xmlns:wfs="{WFS}" xmlns:fes="{FES}"><wfs:TransactionSummary>
      <wfs:totalInserted>{inserted}</wfs:totalInserted><wfs:totalUpdated>{updated}</wfs:totalUpdated>
      <wfs:totalReplaced>{replaced}</wfs:totalReplaced><wfs:totalDeleted>{deleted}</wfs:totalDeleted>
      </wfs:TransactionSummary>{results}</wfs:TransactionResponse>"""
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/xml"})


def mock_metadata(transactional: bool = True) -> None:
    respx.get(URL, params={"REQUEST": "GetCapabilities"}).mock(
        return_value=httpx.Response(200, content=capabilities(transactional))
    )
    respx.get(URL, params={"REQUEST": "DescribeFeatureType"}).mock(
        return_value=httpx.Response(200, content=SCHEMA)
    )


async def connector(**options: Any) -> WFSConnector:
    config = WFSConnector.Config.model_validate(
        {"url": URL, "type_name": "trees", "writable": True, **options}
    )
    c = WFSConnector(config, base_dir=Path("."), name="city/trees")
    await c.open()
    return c


def sent(route: respx.Route) -> etree._Element:
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/xml"
    return etree.fromstring(request.content)


def numbers(text: str | None) -> list[float]:
    return [float(v) for v in (text or "").split()]


@respx.mock
async def test_insert_sends_one_feature_in_schema_order_typed_in_its_namespace() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(inserted=1, rid="trees.41"))
    c = await connector()
    assert await c.create(RECORD) == "trees.41"
    root = sent(route)
    assert root.tag == f"{{{WFS}}}Transaction"
    assert (root.get("service"), root.get("version")) == ("WFS", "2.0.0")
    assert root.nsmap["app"] == APP
    (insert,) = root
    assert insert.tag == f"{{{WFS}}}Insert"
    (feature,) = insert
    assert feature.tag == f"{{{APP}}}trees" and feature.get(f"{{{GML}}}id")
    # schema order, geometry in its place; fid None is left out, not sent empty
    assert [etree.QName(e).localname for e in feature] == [
        "name",
        "geom",
        "height",
        "healthy",
        "planted",
    ]
    assert all(etree.QName(e).namespace == APP for e in feature)
    values = {etree.QName(e).localname: e.text for e in feature if len(e) == 0}
    assert values == {
        "name": "Linde",
        "height": "12.0",
        "healthy": "false",
        "planted": "2024-03-01",
    }


@respx.mock
async def test_insert_geometry_is_gml32_in_epsg_25832_easting_first_every_digit() -> None:
    mock_metadata()  # DefaultCRS EPSG:25832
    route = respx.post(URL).mock(return_value=answer(inserted=1, rid="trees.42"))
    c = await connector()
    await c.create(RECORD)
    point = sent(route).find(".//app:geom/gml:Point", NS)
    assert point is not None and point.get("srsName") == "urn:ogc:def:crs:EPSG::25832"
    assert point.get(f"{{{GML}}}id")
    easting, northing = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True).transform(
        10.0, 53.55
    )
    assert numbers(point.findtext("gml:pos", namespaces=NS)) == [easting, northing]
    assert 560_000 < easting < 570_000 and 5_930_000 < northing < 5_940_000


@respx.mock
async def test_polygon_in_urn_epsg_4326_is_written_latitude_first() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(inserted=1, rid="trees.43"))
    c = await connector(srs_name="urn:ogc:def:crs:EPSG::4326")
    ring = [[10.0, 53.5], [10.1, 53.5], [10.1, 53.6], [10.0, 53.5]]
    await c.create({**RECORD, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    polygon = sent(route).find(".//app:geom/gml:Polygon", NS)
    assert polygon is not None and polygon.get("srsName") == "urn:ogc:def:crs:EPSG::4326"
    pos_list = polygon.findtext("gml:exterior/gml:LinearRing/gml:posList", namespaces=NS)
    assert numbers(pos_list) == [v for lon, lat in ring for v in (lat, lon)]  # not densified


@respx.mock
async def test_multi_geometries_become_gml_multi_curve_and_surface() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(updated=1))
    c = await connector()
    lines = {"type": "MultiLineString", "coordinates": [[[10.0, 53.5], [10.1, 53.6]]]}
    assert await c.update("trees.1", {"properties": {}, "geometry": lines})
    curve = sent(route).find(".//wfs:Value/gml:MultiCurve", NS)
    assert curve is not None
    line = curve.find("gml:curveMember/gml:LineString", NS)
    assert line is not None and len(numbers(line.findtext("gml:posList", namespaces=NS))) == 4
    square = [[10.0, 53.5], [10.1, 53.5], [10.1, 53.6], [10.0, 53.5]]
    polygons = {"type": "MultiPolygon", "coordinates": [[square], [square]]}
    assert await c.update("trees.1", {"properties": {}, "geometry": polygons})
    surface = sent(route).find(".//wfs:Value/gml:MultiSurface", NS)
    assert surface is not None and len(surface.findall("gml:surfaceMember/gml:Polygon", NS)) == 2
    ids = [e.get(f"{{{GML}}}id") for e in surface.iter() if e.get(f"{{{GML}}}id")]
    assert len(ids) == len(set(ids)) == 3  # unique within the document


@respx.mock
async def test_update_sends_one_property_per_field_and_null_as_a_property_without_value() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(updated=1))
    c = await connector()
    changes = {"properties": {"height": 7.25, "name": None}, "geometry": None}
    assert await c.update("trees.7", changes) is True
    (update,) = sent(route)
    assert update.tag == f"{{{WFS}}}Update" and update.get("typeName") == "app:trees"
    props = update.findall("wfs:Property", NS)
    refs = [p.findtext("wfs:ValueReference", namespaces=NS) for p in props]
    assert refs == ["app:height", "app:name", "app:geom"]
    assert props[0].findtext("wfs:Value", namespaces=NS) == "7.25"
    assert props[1].find("wfs:Value", NS) is None  # NULL
    assert props[2].find("wfs:Value", NS) is None  # geometry removed
    assert update[-1].tag == f"{{{FES}}}Filter"
    assert update.find("fes:Filter/fes:ResourceId", NS).get("rid") == "trees.7"  # type: ignore[union-attr]


@respx.mock
async def test_replace_by_id_field_selects_with_property_is_equal_to_and_keeps_the_id() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(replaced=1))
    c = await connector(id_field="fid")
    record = {"properties": {"name": "Eiche", "fid": None}, "geometry": POINT}
    assert await c.replace("12", record) is True
    (replace,) = sent(route)
    assert replace.tag == f"{{{WFS}}}Replace"
    feature, selection = replace
    assert feature.findtext("app:fid", namespaces=NS) == "12"
    assert feature.find("app:height", NS) is None  # left out: NULL after a Replace
    equal = selection.find("fes:PropertyIsEqualTo", NS)
    assert equal is not None
    assert equal.findtext("fes:ValueReference", namespaces=NS) == "app:fid"
    assert equal.findtext("fes:Literal", namespaces=NS) == "12"


@respx.mock
async def test_zero_totals_are_false_so_the_gateway_answers_404() -> None:
    mock_metadata()
    respx.post(URL).mock(return_value=answer())
    c = await connector()
    assert await c.replace("trees.99", RECORD) is False
    assert await c.update("trees.99", {"properties": {"name": "x"}}) is False
    assert await c.delete("trees.99") is False


@respx.mock
async def test_delete_sends_a_delete_and_counts_it() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(deleted=1))
    c = await connector()
    assert await c.delete("trees.3") is True
    (delete,) = sent(route)
    assert delete.tag == f"{{{WFS}}}Delete" and delete.get("typeName") == "app:trees"
    assert delete.find("fes:Filter/fes:ResourceId", NS).get("rid") == "trees.3"  # type: ignore[union-attr]


@respx.mock
async def test_a_text_id_for_an_integer_id_field_is_no_feature_and_sends_nothing() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(deleted=1))
    c = await connector(id_field="fid")
    assert await c.delete("trees.3") is False
    assert route.call_count == 0


@respx.mock
async def test_create_with_a_server_made_id_field_reads_it_back_by_resource_id() -> None:
    mock_metadata()
    respx.post(URL).mock(return_value=answer(inserted=1, rid="trees.77"))
    member = f"""<?xml version="1.0"?><wfs:FeatureCollection xmlns:wfs="{WFS}" xmlns:gml="{GML}"
      xmlns:app="{APP}"><wfs:member><app:trees gml:id="trees.77"><app:fid>77</app:fid>
      <app:name>Linde</app:name></app:trees></wfs:member></wfs:FeatureCollection>"""
    read = respx.get(URL, params={"REQUEST": "GetFeature", "RESOURCEID": "trees.77"}).mock(
        return_value=httpx.Response(200, content=member.encode())
    )
    c = await connector(id_field="fid")
    assert await c.create(RECORD) == "77"
    assert read.call_count == 1
    given = {**RECORD, "properties": {**RECORD["properties"], "fid": 5}}  # type: ignore[dict-item]
    assert await c.create(given) == "77"  # the server's key, not the value offered
    assert read.call_count == 2


@pytest.mark.parametrize(
    ("code", "text", "error"),
    [
        ("InvalidParameterValue", "height: not a double", SourceRefused),
        ("OperationParsingFailed", "unexpected element", SourceRefused),
        ("InvalidValue", "null value in column violates not-null constraint", SourceRejectedValue),
        ("OperationProcessingFailed", "duplicate key value violates a unique constraint",
         SourceConflict),
        ("OperationProcessingFailed", "database connection lost", SourceError),
    ],
)  # fmt: skip
@respx.mock
async def test_exception_reports_are_answered_by_whose_fault(
    code: str, text: str, error: type[Exception]
) -> None:
    mock_metadata()
    body = (REPORT % (code, text)).encode()
    respx.post(URL).mock(return_value=httpx.Response(400, content=body))
    c = await connector()
    with pytest.raises(error) as raised:
        await c.create(RECORD)
    assert not isinstance(raised.value, SourceRefused) or raised.value.status == 400
    if error is SourceError:
        assert raised.value.answer == f"{code}: {text}"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"OK"),
        httpx.Response(502, content=b"<html><body>Bad Gateway</body></html>"),
        httpx.Response(200, content=b"<wfs:TransactionResponse"),  # cut short
        httpx.Response(200, content=b"<FeatureCollection/>"),
    ],
)
@respx.mock
async def test_answers_that_are_no_transaction_response_are_source_errors(
    response: httpx.Response,
) -> None:
    mock_metadata()
    respx.post(URL).mock(return_value=response)
    c = await connector()
    with pytest.raises(SourceError):
        await c.delete("trees.1")


@respx.mock
async def test_an_insert_without_insert_results_is_a_source_error() -> None:
    mock_metadata()
    respx.post(URL).mock(return_value=answer(inserted=1))
    c = await connector()
    with pytest.raises(SourceError, match="InsertResults"):
        await c.create(RECORD)


@respx.mock
async def test_a_timed_out_transaction_is_not_retried() -> None:
    mock_metadata()
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    c = await connector(http={"retries": 3})
    with pytest.raises(SourceTimeout):
        await c.create(RECORD)
    assert route.call_count == 1


@respx.mock
async def test_values_the_schema_cannot_take_are_refused_before_sending() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(updated=1))
    c = await connector()
    with pytest.raises(SourceRejectedValue, match="height"):
        await c.update("trees.1", {"properties": {"height": "tall"}})
    with pytest.raises(SourceRejectedValue, match="colour"):
        await c.update("trees.1", {"properties": {"colour": "green"}})
    with pytest.raises(SourceRejectedValue, match="planted"):
        await c.update("trees.1", {"properties": {"planted": "March"}})
    with pytest.raises(SourceRejectedValue, match="name"):
        await c.create({**RECORD, "properties": {"name": "Winter\x00Linde"}})
    with pytest.raises(SourceRejectedValue, match="geometry"):
        await c.create({**RECORD, "geometry": {"type": "Point", "coordinates": []}})
    assert await c.delete("trees.\x01") is False
    assert route.call_count == 0


@respx.mock
async def test_not_writable_without_config_even_when_the_server_offers_transactions() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(deleted=1))
    c = await connector(writable=False)
    await c.describe()
    assert c.writable() is False
    with pytest.raises(SourceRefused):
        await c.delete("trees.1")
    assert route.call_count == 0
    assert await c.problems() == []


@respx.mock
async def test_a_server_without_transaction_is_refused_named_and_not_writable() -> None:
    mock_metadata(transactional=False)
    route = respx.post(URL).mock(return_value=answer(deleted=1))
    c = await connector()
    assert c.writable() is True  # the config's word until the capabilities are read
    await c.describe()
    assert c.writable() is False
    with pytest.raises(SourceRefused, match="Transaction") as refused:
        await c.delete("trees.1")
    assert refused.value.status == 405
    assert route.call_count == 0
    (problem,) = await c.problems()
    assert "no Transaction operation" in problem
    assert "ImplementsTransactionalWFS" in problem


@respx.mock
async def test_a_transactional_server_is_writable_once_read() -> None:
    mock_metadata()
    c = await connector()
    await c.describe()
    assert c.writable() is True
    assert await c.problems() == []


@respx.mock
async def test_a_given_id_is_the_id_fields_value_on_insert() -> None:
    mock_metadata()
    route = respx.post(URL).mock(return_value=answer(inserted=1, rid="trees.9"))
    member = f"""<wfs:FeatureCollection xmlns:wfs="{WFS}" xmlns:gml="{GML}" xmlns:app="{APP}">
      <wfs:member><app:trees gml:id="trees.9"><app:fid>9</app:fid></app:trees></wfs:member>
      </wfs:FeatureCollection>"""
    respx.get(URL, params={"REQUEST": "GetFeature"}).mock(
        return_value=httpx.Response(200, content=member.encode())
    )
    c = await connector(id_field="fid")
    assert await c.create({**RECORD, "id": 9}) == "9"
    assert sent(route).findtext(".//app:trees/app:fid", namespaces=NS) == "9"


@pytest.mark.parametrize(
    ("operation", "constraint", "lacking"),
    [
        (True, True, None),
        (True, False, "no ImplementsTransactionalWFS TRUE"),
        (False, True, "no Transaction operation"),
    ],
)
def test_capabilities_tell_transactions_by_operation_and_constraint(
    operation: bool, constraint: bool, lacking: str | None
) -> None:
    parts = {
        "operation": TRANSACTION_OPERATION if operation else "",
        "constraint": TRANSACTIONAL if constraint else "",
    }
    data = (CAPABILITIES % parts).encode()
    service = parse_capabilities(parse_xml(data), data, URL)
    assert service.transactions() == lacking
    assert ("Transaction" in service.operations) is operation
    assert "GetFeature" in service.operations
