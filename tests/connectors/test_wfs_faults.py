"""Faults a real MapServer will not produce on demand (respx): hostile XML, exception reports
with a 200, answers of the wrong kind, bodies that break off or grow beyond the cap. Each
is a SourceError (502) naming the source, never a hang, an entity expanded or a retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import respx

from connectors.base import SourceQuery
from connectors.errors import SourceAnswerTooLarge, SourceError
from connectors.wfs import WFSConnector

pytestmark = pytest.mark.anyio
URL = "https://wfs.example/ows"

CAPABILITIES = b"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0"
  xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:fes="http://www.opengis.net/fes/2.0">
  <ows:OperationsMetadata>
    <ows:Operation name="GetFeature">
      <ows:DCP><ows:HTTP><ows:Get href="https://elsewhere.example/ows"/></ows:HTTP></ows:DCP>
      <ows:Parameter name="outputFormat"><ows:AllowedValues>
        <ows:Value>application/gml+xml; version=3.2</ows:Value>
        <ows:Value>%(json)s</ows:Value>
      </ows:AllowedValues></ows:Parameter>
    </ows:Operation>
    <ows:Constraint name="ImplementsResultPaging">
      <ows:NoValues/><ows:DefaultValue>TRUE</ows:DefaultValue></ows:Constraint>
  </ows:OperationsMetadata>
  <wfs:FeatureTypeList><wfs:FeatureType>
    <wfs:Name xmlns:app="http://app.example">app:trees</wfs:Name>
    <wfs:Title>Trees</wfs:Title>
    <wfs:DefaultCRS>urn:ogc:def:crs:EPSG::4326</wfs:DefaultCRS>
    <ows:WGS84BoundingBox><ows:LowerCorner>9.7 53.3</ows:LowerCorner>
      <ows:UpperCorner>10.4 53.8</ows:UpperCorner></ows:WGS84BoundingBox>
  </wfs:FeatureType></wfs:FeatureTypeList>
</wfs:WFS_Capabilities>"""
SCHEMA = b"""<?xml version="1.0"?>
<schema xmlns="http://www.w3.org/2001/XMLSchema" xmlns:app="http://app.example"
  xmlns:gml="http://www.opengis.net/gml/3.2" targetNamespace="http://app.example">
  <element name="trees" type="app:treesType" substitutionGroup="gml:AbstractFeature"/>
  <complexType name="treesType"><complexContent><extension base="gml:AbstractFeatureType">
    <sequence>
      <element name="geom" type="gml:PointPropertyType"/>
      <element name="name" type="string"/>
      <element name="height" type="double"/>
    </sequence>
  </extension></complexContent></complexType>
</schema>"""
GML_HEAD = b"""<?xml version="1.0"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0"
  xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:app="http://app.example">"""
MEMBER = b"""<wfs:member><app:trees gml:id="trees.%d"><app:geom>
  <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>53.5 10.0</gml:pos></gml:Point>
  </app:geom><app:name>Linde</app:name><app:height>12.5</app:height></app:trees></wfs:member>"""
REPORT = b"""<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1"
  version="2.0.0"><ows:Exception exceptionCode="OperationProcessingFailed">
  <ows:ExceptionText>database connection lost</ows:ExceptionText></ows:Exception>
  </ows:ExceptionReport>"""


def capabilities(json_format: str = "text/xml; subtype=gml/3.1.1") -> bytes:
    return CAPABILITIES % {b"json": json_format.encode()}


def mock_metadata(caps: bytes | None = None) -> None:
    caps = capabilities() if caps is None else caps
    respx.get(URL, params={"REQUEST": "GetCapabilities"}).mock(
        return_value=httpx.Response(200, content=caps, headers={"content-type": "text/xml"})
    )
    respx.get(URL, params={"REQUEST": "DescribeFeatureType"}).mock(
        return_value=httpx.Response(200, content=SCHEMA, headers={"content-type": "text/xml"})
    )


def mock_features(response: httpx.Response) -> respx.Route:
    return respx.get(URL, params={"REQUEST": "GetFeature"}).mock(return_value=response)


async def connector(**options: object) -> WFSConnector:
    config = WFSConnector.Config.model_validate({"url": URL, "type_name": "trees", **options})
    c = WFSConnector(config, base_dir=Path("."), name="city/trees")
    await c.open()
    return c


async def read(c: WFSConnector, q: SourceQuery | None = None) -> list[dict]:
    result = await c.query(q or SourceQuery(limit=10))
    return [r async for r in result.records]


@respx.mock
async def test_gml_in_latitude_first_crs_is_read_as_lon_lat() -> None:
    mock_metadata()
    mock_features(httpx.Response(200, content=GML_HEAD + MEMBER % 1 + b"</wfs:FeatureCollection>"))
    c = await connector()
    (record,) = await read(c)
    assert record == {
        "id": "trees.1",
        "properties": {"name": "Linde", "height": 12.5},
        "geometry": {"type": "Point", "coordinates": [10.0, 53.5]},
    }
    assert (await c.describe()).storage_crs == "http://www.opengis.net/def/crs/EPSG/0/4326"


@respx.mock
async def test_capabilities_with_a_doctype_are_refused_without_expanding_anything() -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    mock_metadata(xxe + capabilities().split(b"?>", 1)[1])
    c = await connector()
    with pytest.raises(SourceError, match="DOCTYPE"):
        await c.describe()


@respx.mock
async def test_an_exception_report_with_status_200_is_a_source_error_with_its_text() -> None:
    mock_metadata()
    route = mock_features(httpx.Response(200, content=REPORT, headers={"content-type": "text/xml"}))
    c = await connector()
    with pytest.raises(SourceError, match="city/trees.*database connection lost"):
        await read(c)
    assert route.call_count == 1


@respx.mock
async def test_an_html_page_instead_of_geojson_is_a_source_error() -> None:
    mock_metadata(capabilities("application/json"))
    mock_features(httpx.Response(200, html="<html><body>Wartungsarbeiten</body></html>"))
    c = await connector()
    with pytest.raises(SourceError, match="something else than features"):
        await read(c)


@pytest.mark.parametrize(
    "body",
    [
        GML_HEAD + MEMBER % 1 + b"<wfs:member><app:trees gml:id='trees.2'><app:name>Li",
        GML_HEAD + MEMBER % 1 + b"</wfs:Feature>",
        b"<html>" + MEMBER % 1,
    ],
)
@respx.mock
async def test_gml_that_breaks_off_or_is_malformed_is_a_source_error(body: bytes) -> None:
    mock_metadata()
    mock_features(httpx.Response(200, content=body))
    c = await connector()
    with pytest.raises(SourceError):
        await read(c)


@respx.mock
async def test_a_page_beyond_the_size_cap_stops_being_read() -> None:
    mock_metadata()
    members = b"".join(MEMBER % i for i in range(2000))
    mock_features(httpx.Response(200, content=GML_HEAD + members + b"</wfs:FeatureCollection>"))
    c = await connector(http={"max_response_bytes": 64 * 1024})
    with pytest.raises(SourceAnswerTooLarge):
        await read(c, SourceQuery())


@respx.mock
async def test_urls_the_capabilities_name_are_never_fetched() -> None:
    mock_metadata()
    elsewhere = respx.get("https://elsewhere.example/ows").mock(return_value=httpx.Response(500))
    mock_features(httpx.Response(200, content=GML_HEAD + b"</wfs:FeatureCollection>"))
    c = await connector()
    assert await read(c) == []
    assert elsewhere.call_count == 0


@respx.mock
async def test_pages_of_one_query_all_go_the_same_way_near_the_url_limit() -> None:
    from connectors.wfs import reader
    from connectors.wfs.request import kvp_url

    mock_metadata()
    c = await connector(page_size=2)
    plan = reader.Plan.make(await c._target(), SourceQuery(limit=6))
    first = kvp_url(c.endpoint.base, plan.request.page(0, 2))
    await c.close()
    # the first page's URL fits, the later ones (with STARTINDEX) would not
    c = await connector(page_size=2, http={"max_url_length": len(first) + 12})
    page = GML_HEAD + MEMBER % 1 + MEMBER % 2 + b"</wfs:FeatureCollection>"
    got = mock_features(httpx.Response(200, content=page))
    posted = respx.post(URL).mock(return_value=httpx.Response(200, content=page))
    assert len(await read(c, SourceQuery(limit=6))) == 6
    assert got.call_count == 0 and posted.call_count == 3


def mock_counted_features(count_seconds: float) -> tuple[respx.Route, respx.Route]:
    """GetFeature pages of one tree, and `resultType=hits` answers after `count_seconds`."""

    async def hits(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(count_seconds)
        counted = b'<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        counted += b'numberMatched="1" numberReturned="0"/>'
        return httpx.Response(200, content=counted, headers={"content-type": "text/xml"})

    counting = respx.get(URL, params={"REQUEST": "GetFeature", "RESULTTYPE": "hits"})
    counting.mock(side_effect=hits)
    page = GML_HEAD + MEMBER % 1 + b"</wfs:FeatureCollection>"
    return counting, mock_features(httpx.Response(200, content=page))


@respx.mock
@pytest.mark.parametrize(("count_seconds", "counts"), [(0.0, [1, 1, 1]), (0.3, [1, None, None])])
async def test_auto_hits_stop_once_the_server_counts_slower_than_a_page_is_worth(
    count_seconds: float, counts: list[int | None]
) -> None:
    mock_metadata()
    counting, _ = mock_counted_features(count_seconds)
    c = await connector()
    seen = []
    for _ in range(3):
        result = await c.query(SourceQuery(limit=10, want_count=True))
        assert [r["id"] async for r in result.records] == ["trees.1"]
        seen.append(result.number_matched)
    assert seen == counts
    assert counting.call_count == (3 if count_seconds == 0 else 1)
