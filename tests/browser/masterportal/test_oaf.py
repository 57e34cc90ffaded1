"""Masterportal's own OAF layer code (masterportalapi's src/layer/oaf.js) loads a federated
and a tenant collection from another origin: bbox strategy on an EPSG:25832 map, crs and
bbox-crs EPSG:25832, limit 400 with paging through `next` links of type
application/geo+json. Every feature must arrive, at its place in EPSG:25832."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pyproj import Transformer

pytestmark = pytest.mark.integration

TO_25832 = Transformer.from_crs("OGC:CRS84", "EPSG:25832", always_xy=True)
EPSG_25832 = "http://www.opengis.net/def/crs/EPSG/0/25832"


def first_coordinate(geometry: dict[str, Any]) -> list[float]:
    coordinates = geometry["coordinates"]
    while isinstance(coordinates[0], list):
        coordinates = coordinates[0]
    return coordinates


def expected(url: str) -> dict[str, tuple[float, float]]:
    """Each feature's first coordinate, read in CRS84 and projected here, independently of
    the gateway's own transformation."""
    body = httpx.get(url, params={"limit": 10000}, timeout=60).json()
    assert body["numberReturned"] == len(body["features"]) and "next" not in {
        link["rel"] for link in body["links"]
    }
    return {
        str(f["id"]): TO_25832.transform(*first_coordinate(f["geometry"])[:2])
        for f in body["features"]
    }


def view_extent(*collections: str) -> list[float]:
    """The map extent in EPSG:25832 that holds the collections' spatial extents."""
    corners = []
    for url in collections:
        west, south, east, north = httpx.get(url, timeout=30).json()["extent"]["spatial"]["bbox"][0]
        corners += [TO_25832.transform(x, y) for x in (west, east) for y in (south, north)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return [min(xs), min(ys), max(xs), max(ys)]


def test_masterportal_oaf_layers_load_every_feature_of_a_federated_and_a_tenant_collection(
    portal: Any, live_demo: str
) -> None:
    layers = [
        # Masterportal's defaults: crs and bboxCrs as EPSG URI, limit 400
        {"id": "federated", "url": f"{live_demo}/", "collection": "land-use-plans"},
        # the short form its documentation shows; 3,000 trees come in pages of 400
        {
            "id": "tenant",
            "url": f"{live_demo}/hamburg",
            "collection": "strassenbaeume",
            "crs": "EPSG:25832",
        },
    ]
    federated = f"{live_demo}/collections/land-use-plans"
    tenant = f"{live_demo}/hamburg/collections/strassenbaeume"
    extent = view_extent(federated, tenant)
    requests: list[Any] = []
    portal.on("request", lambda r: requests.append(r) if r.url.startswith(live_demo) else None)

    loaded = portal.evaluate(
        "([layers, extent]) => window.twinbridge.loadOaf(layers, extent)", [layers, extent]
    )

    for layer, collection in zip(loaded, (federated, tenant), strict=True):
        truth = expected(f"{collection}/items")
        got = {f["id"]: f["at"] for f in layer["features"]}
        assert len(layer["features"]) == len(got), f"{layer['id']}: a feature came twice"
        assert got.keys() == truth.keys(), f"{layer['id']}: features missing or extra"
        for fid, (x, y) in truth.items():
            assert got[fid][0] == pytest.approx(x, abs=0.05), fid
            assert got[fid][1] == pytest.approx(y, abs=0.05), fid
    assert {f["id"].split(".")[0] for f in loaded[0]["features"]} == {"hamburg", "leipzig"}
    asked(requests, federated, EPSG_25832, pages=1)
    asked(requests, tenant, "EPSG:25832", pages=8)


def asked(requests: list[Any], collection: str, crs: str, pages: int) -> None:
    """Masterportal's request: limit 400, the map extent as bbox in the layer's CRS, the
    response CRS, GeoJSON asked for by Accept; then the `next` links as given."""
    mine = [r for r in requests if r.url.startswith(f"{collection}/items")]
    assert len(mine) == pages
    first = httpx.URL(mine[0].url).params
    assert first["limit"] == "400" and first["crs"] == crs and first["bbox-crs"] == crs
    assert len(first["bbox"].split(",")) == 4
    assert all(r.headers["accept"] == "application/geo+json" for r in mine)
