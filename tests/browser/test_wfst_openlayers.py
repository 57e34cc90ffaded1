"""The WFS-T test server (tests/connectors/wfst_server.py) is only worth its tests if a real
client agrees with it: OpenLayers' `ol.format.WFS` (version 2.0.0), the WFS-T client of
Masterportal and most web editors, writes Transactions in Chromium, posts them, and reads
the answers and the features back through MapServer. Whatever OpenLayers writes (its
ValueReference without prefix, a Property without Value for null, `fid` attributes, a
fes:ResourceId filter, lat/lon for an EPSG URN) the server has to take as it comes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pyproj import Transformer

from tests.browser.conftest import node_modules
from tests.connectors.wfst_fixture import WfstTrees, wfst_trees_fixture  # noqa: F401
from tests.postgis_fixtures import postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration

# Helpers of the page: build features and transactions with OpenLayers, post them, read
# the answers with OpenLayers. `window.wfst` holds the URL and the feature type.
PAGE_SCRIPT = """
window.format = new ol.format.WFS({version: '2.0.0'});
window.options = (srsName) => ({
  featureNS: wfst.namespace, featurePrefix: 'ms', featureType: wfst.layer,
  srsName, version: '2.0.0'});
window.tree = (properties, xy, geometryName = 'msGeometry') => {
  const feature = new ol.Feature(properties);
  feature.setGeometryName(geometryName);
  if (xy) feature.setGeometry(new ol.geom.Point(xy));
  return feature;
};
window.transact = (inserts, updates, deletes, srsName = 'EPSG:25832') =>
  new XMLSerializer().serializeToString(
    format.writeTransaction(inserts, updates, deletes, options(srsName)));
window.post = async (xml) => {
  const answer = await fetch(wfst.url, {method: 'POST', body: xml,
                                        headers: {'Content-Type': 'text/xml'}});
  const text = await answer.text();
  if (answer.status !== 200) return {status: answer.status, text};
  const result = format.readTransactionResponse(text);
  return {status: 200, xml, summary: result.transactionSummary, ids: result.insertIds};
};
window.read = async (rid) => {
  const request = format.writeGetFeature({
    featureNS: wfst.namespace, featurePrefix: 'ms', featureTypes: [wfst.layer],
    outputFormat: 'application/gml+xml; version=3.2',
    filter: ol.format.filter.resourceId(rid)});
  const answer = await fetch(wfst.url, {method: 'POST',
    body: new XMLSerializer().serializeToString(request)});
  return format.readFeatures(await answer.text()).map((f) => ({
    id: f.getId(), properties: f.getProperties(),
    xy: f.getGeometry().getCoordinates().slice(0, 2)}));  // MapServer's pos reads as XYZ
};
"""
TREE = {
    "species_scientific": "Tilia cordata",
    "species_german": "Winter-Linde",
    "genus": "Tilia",
    "district": "Altona",
    "last_update": "2026-12-07",
    "height_m": 7.5,
}
TO_25832 = Transformer.from_crs(4326, 25832, always_xy=True)


@pytest.fixture(name="ol_page")
def ol_page_fixture(page: Any, wfst_trees: WfstTrees) -> Any:
    """A page on the test server's origin (so its fetches are same-origin) with ol.js."""
    origin = wfst_trees.url.rsplit("/", 1)[0]
    page.route(
        f"{origin}/page.html",
        lambda route: route.fulfill(
            body="<!doctype html><title>wfst</title>", content_type="text/html"
        ),
    )
    page.goto(f"{origin}/page.html")
    page.add_script_tag(path=str(node_modules() / "ol" / "dist" / "ol.js"))
    config = {"url": wfst_trees.url, "layer": wfst_trees.layer, "namespace": wfst_trees.namespace}
    page.evaluate("config => { window.wfst = config; }", config)
    page.add_script_tag(content=PAGE_SCRIPT)
    return page


def key(rid: str) -> int:
    layer, _, number = rid.partition(".")
    assert layer == "trees"
    return int(number)


def test_openlayers_inserts_updates_and_deletes(ol_page: Any, wfst_trees: WfstTrees) -> None:
    inserted = ol_page.evaluate(
        """tree => post(transact([
             window.tree(tree, [566000.5, 5934000.5]),
             window.tree({...tree, street: 'Neue Straße 1'}, [566100.5, 5934100.5])], [], []))""",
        TREE,
    )
    assert inserted["status"] == 200, inserted
    assert inserted["summary"]["totalInserted"] == 2
    first, second = (key(rid) for rid in inserted["ids"])
    rows = wfst_trees.rows("fid = ANY($1::bigint[])", [first, second])
    assert [(r["x"], r["y"], r["street"]) for r in rows.values()] == [
        (566000.5, 5934000.5, None),
        (566100.5, 5934100.5, "Neue Straße 1"),
    ]
    assert rows[first]["height_m"] == 7.5 and str(rows[first]["last_update"]) == "2026-12-07"

    read = ol_page.evaluate("rid => read(rid)", f"trees.{second}")
    assert [(f["id"], f["xy"]) for f in read] == [(f"trees.{second}", [566100.5, 5934100.5])]
    assert read[0]["properties"]["street"] == "Neue Straße 1"

    updated = ol_page.evaluate(
        """fid => {
             const feature = tree({height_m: 12.5, street: null}, [567000.25, 5935000.75]);
             feature.setId(fid);
             return post(transact([], [feature], []));
           }""",
        f"trees.{second}",
    )
    assert "<ValueReference>street</ValueReference></Property>" in updated["xml"]  # null
    assert updated["summary"]["totalUpdated"] == 1
    row = wfst_trees.rows("fid = $1", second)[second]
    assert (row["height_m"], row["street"], row["x"], row["y"]) == (
        12.5,
        None,
        567000.25,
        5935000.75,
    )

    deleted = ol_page.evaluate(
        """fid => { const feature = new ol.Feature(); feature.setId(fid);
                    return post(transact([], [], [feature])); }""",
        f"trees.{first}",
    )
    assert deleted["summary"]["totalDeleted"] == 1
    assert list(wfst_trees.rows("fid = ANY($1::bigint[])", [first, second])) == [second]
    assert ol_page.evaluate("rid => read(rid)", f"trees.{first}") == []


def test_openlayers_lat_lon_for_an_epsg_urn(ol_page: Any, wfst_trees: WfstTrees) -> None:
    lon, lat = 9.9937, 53.5511
    inserted = ol_page.evaluate(
        "([tree, xy, srs]) => post(transact([window.tree(tree, xy)], [], [], srs))",
        [TREE, [lon, lat], "urn:ogc:def:crs:EPSG::4326"],
    )
    assert f">{lat} {lon}</pos>" in inserted["xml"]  # OpenLayers writes the URN's lat/lon
    (rid,) = inserted["ids"]
    row = wfst_trees.rows("fid = $1", key(rid))[key(rid)]
    easting, northing = TO_25832.transform(lon, lat)
    assert (row["x"], row["y"]) == (
        pytest.approx(easting, abs=0.01),
        pytest.approx(northing, abs=0.01),
    )


def test_openlayers_default_geometry_name_is_refused(ol_page: Any, wfst_trees: WfstTrees) -> None:
    """OpenLayers names a geometry `geometry` unless told MapServer's `msGeometry`: a real
    server refuses the unknown property, and so does this one (posted from here, as the
    page fails a test on any HTTP error)."""
    xml = ol_page.evaluate(
        "tree => transact([window.tree(tree, [566000, 5934000], 'geometry')], [], [])", TREE
    )
    before = wfst_trees.rows()
    answer = httpx.post(wfst_trees.url, content=xml, headers={"content-type": "text/xml"})
    assert answer.status_code == 400
    assert 'exceptionCode="InvalidParameterValue" locator="geometry"' in answer.text
    assert wfst_trees.rows() == before
