"""The MapServer fixture itself: both layers served, GeoJSON only where configured, and the
OGC API – Features endpoint alive (the WFS tests and the benchmark build on these facts)."""

from __future__ import annotations

import httpx
import pytest

from tests.mapserver import MapServerHandle, mapserver_trees_fixture  # noqa: F401
from tests.postgis_fixtures import TREE_COUNT, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration


def _get(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    return response


def test_wfs_offers_geojson_for_trees_and_only_gml_for_the_geopackage_layer(
    mapserver_trees: MapServerHandle,
) -> None:
    wfs = mapserver_trees.wfs_url("trees")
    caps = _get(f"{wfs}&SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0").text
    types = caps.split("<FeatureType>")[1:]
    trees = next(t for t in types if "<Name>ms:trees</Name>" in t)
    baeume = next(t for t in types if "<Name>ms:baeume</Name>" in t)
    assert "geojson" in trees
    assert "geojson" not in baeume and "gml/3.2.1" in baeume


def test_wfs_counts_every_postgis_tree_and_the_geopackage_trees_with_a_geometry(
    mapserver_trees: MapServerHandle,
) -> None:
    wfs = mapserver_trees.wfs_url("trees")
    hits = f"{wfs}&SERVICE=WFS&REQUEST=GetFeature&VERSION=2.0.0&RESULTTYPE=hits"
    assert f'numberMatched="{TREE_COUNT}"' in _get(f"{hits}&TYPENAMES=trees").text
    # MapServer answers a spatial query: the GeoPackage's tree without geometry is not served
    assert 'numberMatched="5"' in _get(f"{hits}&TYPENAMES=baeume").text


def test_ogcapi_serves_the_same_trees(mapserver_trees: MapServerHandle) -> None:
    api = mapserver_trees.ogcapi_url("trees")
    page = _get(f"{api}/collections/trees/items?f=json&limit=3").json()
    assert len(page["features"]) == 3
    assert page["numberMatched"] == TREE_COUNT


def test_access_log_records_each_request(mapserver_trees: MapServerHandle) -> None:
    before = len(mapserver_trees.requests("REQUEST=DescribeFeatureType"))
    _get(
        f"{mapserver_trees.wfs_url('trees')}&SERVICE=WFS&REQUEST=DescribeFeatureType"
        "&VERSION=2.0.0&TYPENAMES=baeume"
    )
    assert len(mapserver_trees.requests("REQUEST=DescribeFeatureType")) == before + 1
