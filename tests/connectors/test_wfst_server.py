"""The WFS-T 2.0 test server (tests/connectors/wfst_server.py) against the real MapServer
and PostGIS: what it declares, what each action writes, that a failing action undoes the
whole Transaction, and that bad or hostile XML gets a WFS 2.0 exception report."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from owslib.wfs import WebFeatureService
from pyproj import Transformer

from connectors.base import SourceQuery
from connectors.remote.xml import parse_xml
from connectors.wfs import WFSConnector
from tests.connectors.wfst_fixture import WfstTrees, wfst_trees_fixture  # noqa: F401
from tests.postgis_fixtures import postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration

WFS = "http://www.opengis.net/wfs/2.0"
FES = "http://www.opengis.net/fes/2.0"
OWS = "http://www.opengis.net/ows/1.1"
MS = "http://mapserver.gis.umn.edu/mapserver"
NS = {"wfs": WFS, "fes": FES, "ows": OWS, "ms": MS, "xlink": "http://www.w3.org/1999/xlink"}
TO_25832 = Transformer.from_crs(4326, 25832, always_xy=True)


def transaction(url: str, actions: str, **attributes: str) -> httpx.Response:
    attrs = " ".join(f'{k}="{v}"' for k, v in {"version": "2.0.0", **attributes}.items())
    body = (
        f'<wfs:Transaction service="WFS" {attrs} xmlns:wfs="{WFS}" xmlns:fes="{FES}"'
        f' xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:ms="{MS}">{actions}</wfs:Transaction>'
    )
    return httpx.post(url, content=body.encode(), headers={"content-type": "text/xml"}, timeout=30)


def summary(answer: httpx.Response) -> dict[str, int]:
    assert answer.status_code == 200, answer.text
    root = parse_xml(answer.content)
    assert root.tag == f"{{{WFS}}}TransactionResponse" and root.get("version") == "2.0.0"
    totals = root.find("wfs:TransactionSummary", NS)
    return {t.tag.split("}")[1]: int(t.text) for t in totals}


def rids(answer: httpx.Response, results: str) -> list[str]:
    return parse_xml(answer.content).xpath(
        f"wfs:{results}/wfs:Feature/fes:ResourceId/@rid", namespaces=NS
    )


def exception(answer: httpx.Response) -> tuple[str, str | None]:
    assert answer.status_code == 400, answer.text
    root = parse_xml(answer.content)
    assert root.tag == f"{{{OWS}}}ExceptionReport" and root.get("version") == "2.0.0"
    exc = root.find("ows:Exception", NS)
    return exc.get("exceptionCode"), exc.get("locator")


def gml_point(x: float, y: float, srs: str = "EPSG:25832") -> str:
    return f'<gml:Point srsName="{srs}"><gml:pos>{x} {y}</gml:pos></gml:Point>'


def point(x: float, y: float, srs: str = "EPSG:25832") -> str:
    return f"<ms:msGeometry>{gml_point(x, y, srs)}</ms:msGeometry>"


def tree(*properties: str) -> str:
    return "<ms:trees>" + "".join(properties) + "</ms:trees>"


def prop(name: str, value: str | None = None) -> str:
    inner = f"<wfs:ValueReference>{name}</wfs:ValueReference>"
    if value is not None:
        inner += f"<wfs:Value>{value}</wfs:Value>"
    return f"<wfs:Property>{inner}</wfs:Property>"


def by_rid(*keys: int) -> str:
    return (
        "<fes:Filter>"
        + "".join(f'<fes:ResourceId rid="trees.{k}"/>' for k in keys)
        + "</fes:Filter>"
    )


LINE = (
    "<ms:msGeometry><gml:LineString><gml:posList>0 0 1 1</gml:posList></gml:LineString>"
    "</ms:msGeometry>"
)
TRANSACTION = (
    b"<wfs:Transaction xmlns:wfs='%s' version='2.0.0'>%%s</wfs:Transaction>" % WFS.encode()
)
REQUIRED = (
    "<ms:species_scientific>Tilia cordata</ms:species_scientific>"
    "<ms:species_german>Winter-Linde</ms:species_german><ms:genus>Tilia</ms:genus>"
    "<ms:district>Altona</ms:district><ms:last_update>2026-12-07</ms:last_update>"
)


def test_capabilities_declare_transactions(wfst_trees: WfstTrees) -> None:
    answer = httpx.get(f"{wfst_trees.url}?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0")
    root = parse_xml(answer.content)
    meta = root.find("ows:OperationsMetadata", NS)
    href = meta.xpath(
        "ows:Operation[@name='Transaction']/ows:DCP/ows:HTTP/ows:Post/@xlink:href", namespaces=NS
    )
    assert href == [wfst_trees.url]
    constraint = meta.xpath(
        "ows:Constraint[@name='ImplementsTransactionalWFS']/ows:DefaultValue/text()", namespaces=NS
    )
    assert constraint == ["TRUE"]
    gets = meta.xpath("ows:Operation/ows:DCP/ows:HTTP/ows:Get/@xlink:href", namespaces=NS)
    assert gets and all(g.startswith(wfst_trees.url) for g in gets)
    service = WebFeatureService(wfst_trees.url, version="2.0.0")
    assert "Transaction" in [op.name for op in service.operations]
    assert service.getOperationByName("Transaction").methods[0]["url"] == wfst_trees.url
    assert "ms:trees" in service.contents


def test_insert_is_read_back_through_mapserver(wfst_trees: WfstTrees) -> None:
    lat, lon = 53.55, 9.99
    answer = transaction(
        wfst_trees.url,
        f'<wfs:Insert handle="two">{tree(point(566000.25, 5934000.75), REQUIRED)}'
        f"{tree(point(lat, lon, 'urn:ogc:def:crs:EPSG::4326'), REQUIRED)}</wfs:Insert>",
    )
    assert summary(answer) == {
        "totalInserted": 2,
        "totalUpdated": 0,
        "totalReplaced": 0,
        "totalDeleted": 0,
    }
    first, second = rids(answer, "InsertResults")
    rows = wfst_trees.rows("fid > 50")
    assert [f"trees.{k}" for k in rows] == [first, second]
    easting, northing = TO_25832.transform(lon, lat)
    assert rows[int(second.split(".")[1])]["x"] == pytest.approx(easting, abs=0.01)
    assert rows[int(second.split(".")[1])]["y"] == pytest.approx(northing, abs=0.01)
    gml = httpx.get(
        wfst_trees.url,
        params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "RESOURCEID": first},
    )
    assert parse_xml(gml.content).xpath(
        "//ms:trees/@gml:id", namespaces={**NS, "gml": "http://www.opengis.net/gml/3.2"}
    ) == [first]
    json = httpx.get(
        wfst_trees.url,
        params={
            "SERVICE": "WFS",
            "VERSION": "2.0.0",
            "REQUEST": "GetFeature",
            "TYPENAMES": "ms:trees",
            "RESOURCEID": first,
            "OUTPUTFORMAT": "geojson",
        },
    ).json()
    assert json["features"][0]["geometry"]["coordinates"] == pytest.approx([566000.25, 5934000.75])
    assert json["features"][0]["properties"]["species_german"] == "Winter-Linde"


def test_update_sets_and_nulls(wfst_trees: WfstTrees) -> None:
    street = wfst_trees.rows("fid = 4")[4]["street"]
    answer = transaction(
        wfst_trees.url,
        f'<wfs:Update typeName="ms:trees">{prop("height_m", "33.5")}{prop("ms:street")}'
        f"{prop('msGeometry', gml_point(570000, 5930000))}{by_rid(2, 3)}</wfs:Update>"
        f'<wfs:Update typeName="ms:trees">{prop("planting_year", "2001")}'
        "<fes:Filter><fes:PropertyIsEqualTo>"
        f"<fes:ValueReference>street</fes:ValueReference><fes:Literal>{street}</fes:Literal>"
        "</fes:PropertyIsEqualTo></fes:Filter></wfs:Update>",
    )
    assert summary(answer)["totalUpdated"] == 3
    rows = wfst_trees.rows("fid IN (2, 3, 4)")
    assert [(r["height_m"], r["street"], r["x"], r["y"]) for r in (rows[2], rows[3])] == [
        (33.5, None, 570000, 5930000)
    ] * 2
    assert rows[4]["planting_year"] == 2001 and rows[4]["street"] == street


def test_replace_sets_a_whole_feature(wfst_trees: WfstTrees) -> None:
    answer = transaction(
        wfst_trees.url,
        '<wfs:Replace handle="r">'
        f"{tree(REQUIRED, '<ms:height_m>4</ms:height_m>', point(567000, 5935000))}"
        f"{by_rid(5)}</wfs:Replace>",
    )
    assert summary(answer)["totalReplaced"] == 1
    assert rids(answer, "ReplaceResults") == ["trees.5"]
    row = wfst_trees.rows("fid = 5")[5]
    assert (row["species_german"], row["height_m"], row["street"], row["x"]) == (
        "Winter-Linde",
        4,
        None,
        567000,
    )


def test_delete(wfst_trees: WfstTrees) -> None:
    answer = transaction(
        wfst_trees.url, f'<wfs:Delete typeName="ms:trees">{by_rid(6, 7, 9999)}</wfs:Delete>'
    )
    assert summary(answer)["totalDeleted"] == 2
    assert wfst_trees.rows("fid IN (6, 7)") == {}
    left = httpx.get(
        wfst_trees.url,
        params={
            "SERVICE": "WFS",
            "VERSION": "2.0.0",
            "REQUEST": "GetFeature",
            "TYPENAMES": "ms:trees",
            "OUTPUTFORMAT": "geojson",
        },
    ).json()
    assert {6, 7}.isdisjoint(f["properties"]["fid"] for f in left["features"])


def test_insert_with_existing_ids(wfst_trees: WfstTrees) -> None:
    """idgen="UseExisting" takes the key from gml:id; a key in use fails the Transaction."""
    feature = '<ms:trees gml:id="trees.500">' + REQUIRED + point(1, 2) + "</ms:trees>"
    native = '<wfs:Native vendorId="x" safeToIgnore="true"/>'
    answer = transaction(
        wfst_trees.url, f'<wfs:Insert idgen="UseExisting">{feature}</wfs:Insert>{native}'
    )
    assert rids(answer, "InsertResults") == ["trees.500"]
    assert list(wfst_trees.rows("fid = 500")) == [500]
    again = f'<wfs:Insert idgen="UseExisting" handle="again">{feature}</wfs:Insert>'
    assert exception(transaction(wfst_trees.url, again)) == ("InvalidValue", "again")


@pytest.mark.parametrize(
    "bad",
    [
        f'<wfs:Update typeName="ms:trees">{prop("planting_year", "old")}{by_rid(9)}</wfs:Update>',
        f"<wfs:Insert>{tree(REQUIRED, LINE)}</wfs:Insert>",
        "<wfs:Insert><ms:trees><ms:genus>Tilia</ms:genus></ms:trees></wfs:Insert>",  # NOT NULL
    ],
)
def test_a_failing_action_rolls_back_all(wfst_trees: WfstTrees, bad: str) -> None:
    before = wfst_trees.rows()
    answer = transaction(
        wfst_trees.url,
        f"<wfs:Insert>{tree(REQUIRED, point(1, 2))}</wfs:Insert>"
        f'<wfs:Delete typeName="ms:trees">{by_rid(8)}</wfs:Delete>'
        f'<wfs:Update typeName="ms:trees">{prop("height_m", "1")}{by_rid(10)}</wfs:Update>{bad}',
    )
    assert exception(answer)[0] == "InvalidValue"
    assert wfst_trees.rows() == before


@pytest.mark.parametrize(
    ("actions", "attributes", "expected"),
    [
        (
            f'<wfs:Update typeName="ms:trees">{prop("hoehe", "1")}{by_rid(1)}</wfs:Update>',
            {},
            ("InvalidParameterValue", "hoehe"),
        ),
        (
            "<wfs:Insert><ms:trees><ms:geom/></ms:trees></wfs:Insert>",
            {},
            ("InvalidParameterValue", "geom"),
        ),
        (
            '<wfs:Insert><x:trees xmlns:x="urn:other"/></wfs:Insert>',
            {},
            ("InvalidParameterValue", "typeName"),
        ),
        (
            f'<wfs:Delete typeName="ms:baeume">{by_rid(1)}</wfs:Delete>',
            {},
            ("InvalidParameterValue", "typeName"),
        ),
        ('<wfs:Delete typeName="ms:trees"/>', {}, ("MissingParameterValue", "Filter")),
        (
            f'<wfs:Delete typeName="ms:trees">{by_rid(1)}</wfs:Delete>',
            {"version": "1.1.0"},
            ("InvalidParameterValue", "version"),
        ),
        (
            f"<wfs:Insert>{tree(point(1, 2, 'EPSG:999999'))}</wfs:Insert>",
            {},
            ("InvalidParameterValue", "srsName"),
        ),
        ('<wfs:Insert idgen="ReplaceDuplicate"/>', {}, ("InvalidParameterValue", "idgen")),
        (
            f'<wfs:Delete typeName="ms:trees">{by_rid(1)}</wfs:Delete>',
            {"lockId": "x"},
            ("InvalidParameterValue", "lockId"),
        ),
    ],
)
def test_invalid_requests(
    wfst_trees: WfstTrees, actions: str, attributes: dict[str, str], expected: tuple[str, str]
) -> None:
    before = wfst_trees.rows()
    assert exception(transaction(wfst_trees.url, actions, **attributes)) == expected
    assert wfst_trees.rows() == before


@pytest.mark.parametrize(
    "body",
    [
        b"<wfs:Transaction xmlns:wfs='http://www.opengis.net/wfs/2.0' version='2.0.0'><wfs:Insert>",
        b"<Transaction xmlns='http://www.opengis.net/wfs' version='1.1.0' service='WFS'/>",
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;">]>' + TRANSACTION % b"&b;",
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + TRANSACTION % b"&x;",
    ],
    ids=["malformed", "wfs-1.1-namespace", "entity-expansion", "external-entity"],
)
def test_bad_xml_is_refused(wfst_trees: WfstTrees, body: bytes) -> None:
    answer = httpx.post(wfst_trees.url, content=body, headers={"content-type": "text/xml"})
    assert exception(answer)[0] == "OperationParsingFailed"
    assert "root:" not in answer.text


def test_other_posts_reach_mapserver(wfst_trees: WfstTrees) -> None:
    query = (
        f'<wfs:GetFeature service="WFS" version="2.0.0" xmlns:wfs="{WFS}" xmlns:fes="{FES}"'
        f' xmlns:ms="{MS}" outputFormat="geojson">'
        f'<wfs:Query typeNames="ms:trees">{by_rid(1)}</wfs:Query></wfs:GetFeature>'
    )
    answer = httpx.post(wfst_trees.url, content=query, headers={"content-type": "text/xml"})
    assert [f["properties"]["fid"] for f in answer.json()["features"]] == [1]
    assert any(r.startswith("POST /ms") for r in wfst_trees.mapserver.requests())


def test_the_wfs_connector_reads_through_the_server(wfst_trees: WfstTrees) -> None:
    """The gateway's reader takes the server for the MapServer it forwards to, and sees
    what a Transaction wrote."""
    answer = transaction(wfst_trees.url, f"<wfs:Insert>{tree(REQUIRED, point(3, 4))}</wfs:Insert>")
    (rid,) = rids(answer, "InsertResults")
    options = {"url": wfst_trees.url, "type_name": wfst_trees.layer, "id_field": "fid"}
    config = WFSConnector.Config.model_validate(options)
    connector = WFSConnector(config, base_dir=Path("."), name="test/wfst")

    async def read() -> list[dict]:
        await connector.open()
        try:
            result = await connector.query(SourceQuery())
            return [r async for r in result.records]
        finally:
            await connector.close()

    records = asyncio.run(read())
    assert sorted(r["id"] for r in records) == sorted(wfst_trees.rows())
    assert int(rid.split(".")[1]) in {r["id"] for r in records}
