"""Land-use plans of two cities through real WFS 2.0 services (MapServer, XPlanSynWFS style)
and the gateway: examples/land-use-plans-wfs.yaml maps both onto the land-use-plans profile.

The services serve the very files the embedded demo reads (gateway/demo/plans.py), so the
WFS-backed gateway must answer exactly as the file-backed demo does: same plans, same
profile values, same filter results; Leipzig's service offers GML only, so its plans come
through the connector's GML path, Hamburg's through GeoJSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
import yaml
from lxml import etree
from starlette.testclient import TestClient

import profiles
from conformance.model import Status
from gateway.app import create_app
from gateway.config import LoadedConfig, load_config
from gateway.demo import DEMO_CONFIG
from gateway.demo.plans import PLAN_COUNTS
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite
from tests.xplan_fixtures import SERVICES, TYPE_NAME, XPLAN_NS, mapserver_xplan, plan_data

__all__ = ["mapserver_xplan", "plan_data"]  # fixtures used below

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "land-use-plans-wfs.yaml"
ROOT = "/collections/land-use-plans"
GEOJSON = {"Accept": "application/geo+json"}
WFS = "http://www.opengis.net/wfs/2.0"
OWS = "http://www.opengis.net/ows/1.1"
ENV = {"hamburg": "TWINBRIDGE_XPLAN_HAMBURG_WFS", "leipzig": "TWINBRIDGE_XPLAN_LEIPZIG_WFS"}


def _wfs(handle: Any, city: str, **params: str) -> httpx.Response:
    query = {"map": SERVICES[city], "SERVICE": "WFS", "VERSION": "2.0.0", **params}
    got = httpx.get(handle.base_url, params=query, timeout=30)  # params replace a URL's query
    assert got.headers["content-type"].startswith(("text/xml", "application/")), got.text
    assert got.status_code == 200, got.text[:500]
    return got


# --- the services themselves (MapServer, no gateway) -------------------------------------


@pytest.mark.parametrize("city", sorted(SERVICES))
def test_each_city_serves_bp_plan_in_the_xplansyn_namespace(mapserver_xplan, city: str) -> None:
    caps = etree.fromstring(_wfs(mapserver_xplan, city, REQUEST="GetCapabilities").content)
    names = caps.findall(f".//{{{WFS}}}FeatureType/{{{WFS}}}Name")
    assert [n.text for n in names] == [TYPE_NAME]
    assert names[0].nsmap["xplan"] == XPLAN_NS
    crs = caps.find(f".//{{{WFS}}}FeatureType/{{{WFS}}}DefaultCRS").text
    assert crs.endswith({"hamburg": "25832", "leipzig": "25833"}[city])
    formats = {
        v.text
        for p in caps.iter(f"{{{OWS}}}Parameter")
        if p.get("name") == "outputFormat"
        for v in p.iter(f"{{{OWS}}}Value")
    }
    offers_json = any("json" in f for f in formats)
    assert offers_json is (city == "hamburg"), formats  # Leipzig: GML only


@pytest.mark.parametrize("city", sorted(SERVICES))
def test_each_city_counts_its_plans(mapserver_xplan, city: str) -> None:
    got = _wfs(mapserver_xplan, city, REQUEST="GetFeature", TYPENAMES=TYPE_NAME, RESULTTYPE="hits")
    assert etree.fromstring(got.content).get("numberMatched") == str(PLAN_COUNTS[city])


def test_schemas_speak_each_citys_dialect(mapserver_xplan) -> None:
    """Hamburg: XPlanSyn's codes and names; Leipzig: names only."""
    fields = {}
    for city in SERVICES:
        got = _wfs(mapserver_xplan, city, REQUEST="DescribeFeatureType", TYPENAMES=TYPE_NAME)
        fields[city] = {
            e.get("name") for e in etree.fromstring(got.content).iter() if e.get("name")
        }
    common = {"BP_Plan", "raeumlicherGeltungsbereich", "name", "nummer", "gemeinde"}
    assert common <= fields["hamburg"] & fields["leipzig"]
    assert {"planArt", "planArtWert", "rechtsstand", "rechtsstandWert"} <= fields["hamburg"]
    assert {"planArtWert", "rechtsstandWert"} <= fields["leipzig"]
    assert not {"planArt", "rechtsstand"} & fields["leipzig"]


# --- through the gateway ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wfs_config(mapserver_xplan) -> LoadedConfig:
    """examples/land-use-plans-wfs.yaml with the services' URLs (read when it is loaded)."""
    with pytest.MonkeyPatch.context() as mp:
        for city, var in ENV.items():
            mp.setenv(var, mapserver_xplan.wfs_url(SERVICES[city]))
        return load_config(CONFIG)


@pytest.fixture(scope="module")
def wfs_client(wfs_config: LoadedConfig) -> Iterator[TestClient]:
    with TestClient(create_app(wfs_config)) as client:
        yield client


def _items(client: TestClient, path: str, **params: str) -> list[dict[str, Any]]:
    got = client.get(f"{path}/items", params={"limit": "1000", **params}, headers=GEOJSON)
    assert got.status_code == 200, got.text
    body = got.json()
    assert "twinbridge:failedSources" not in body, body["twinbridge:failedSources"]  # partial
    return body["features"]


@pytest.fixture(scope="module")
def from_files(demo_client: TestClient) -> dict[str, dict[str, Any]]:
    """The embedded demo's plans (the same data, read from files), by id."""
    return {f["id"]: f for f in _items(demo_client, ROOT)}


def test_config_maps_like_the_embedded_demo() -> None:
    """One mapping per city, whether the plans come from a file or a WFS."""
    wfs = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["tenants"]
    demo = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))["tenants"]
    for city in SERVICES:
        wfs_plans = wfs[city]["collections"]["bebauungsplaene"]
        demo_plans = demo[city]["collections"]["bebauungsplaene"]
        assert wfs_plans["mapping"] == demo_plans["mapping"], city
        assert wfs_plans["source"]["id_field"] == demo_plans["source"]["id_field"]


def test_both_cities_come_through_wfs_as_valid_profile_features(wfs_client) -> None:
    features = _items(wfs_client, ROOT)
    tenants = [f["properties"]["tenant"] for f in features]
    assert {t: tenants.count(t) for t in set(tenants)} == PLAN_COUNTS
    plans = profiles.get("land-use-plans")
    for feature in features:
        assert plans.validate(feature) == [], feature


def test_wfs_answers_as_the_files_do(wfs_client, from_files) -> None:
    """Same ids and profile values; plan areas equal within a micrometre (MapServer
    reprojects and prints 6 decimals of metres)."""
    features = {f["id"]: f for f in _items(wfs_client, ROOT)}
    assert set(features) == set(from_files)
    for fid, feature in features.items():
        want = from_files[fid]
        assert feature["properties"] == want["properties"], fid
        got_area = shapely.geometry.shape(feature["geometry"])
        want_area = shapely.geometry.shape(want["geometry"])
        assert got_area.symmetric_difference(want_area).area < 1e-12, fid


@pytest.mark.parametrize(
    "cql",
    [
        "planArt = '10001'",
        "planArt IN ('3000', '3100') AND rechtsstand = '4000'",
        "rechtsstand <> '4000'",
        "ags = '14713000'",
        "inkrafttretensDatum >= DATE('2015-01-01')",
        "nummer LIKE '%0'",
        "S_INTERSECTS(geometry, BBOX(9.9, 53.5, 10.05, 53.6))",
    ],
)
def test_filters_select_what_the_files_select(wfs_client, demo_client, cql: str) -> None:
    params = {"filter": cql, "filter-lang": "cql2-text"}
    got = {f["id"] for f in _items(wfs_client, ROOT, **params)}
    want = {f["id"] for f in _items(demo_client, ROOT, **params)}
    assert want and got == want


@pytest.mark.parametrize("city", sorted(SERVICES))
def test_paging_through_a_city_reaches_every_plan_once(wfs_client, city: str) -> None:
    url, seen = f"/{city}/collections/bebauungsplaene/items?limit=7", []
    while url:
        page = wfs_client.get(url, headers=GEOJSON).json()
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == PLAN_COUNTS[city]


@pytest.mark.parametrize(
    ("root", "collection"),
    [("", "land-use-plans"), ("/hamburg", "bebauungsplaene"), ("/leipzig", "bebauungsplaene")],
)
def test_profile_conformance_passes_over_wfs(
    wfs_config: LoadedConfig, root: str, collection: str
) -> None:
    app, lt = create_app(wfs_config), LoopThread()
    lifespan = app.router.lifespan_context(app)
    lt.run(lifespan.__aenter__())
    try:
        report = run_suite(
            lt,
            app,
            f"http://testserver{root}/",
            suites=("profile",),
            profile="land-use-plans",
            collection=collection,
        )
    finally:
        lt.run(lifespan.__aexit__(None, None, None))
        lt.close()
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert {"profile/schema", "profile/queryables", "profile/code-lists"} <= passed, explain(report)
