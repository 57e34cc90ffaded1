"""The embedded demo serves both cities' land-use plans as one federated collection
`/collections/land-use-plans`: each city's dialect (codes vs names, ISO vs German dates,
25832 vs 25833) comes out as the same profile, and filters on the profile's codes work
whichever way the city stores them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

import profiles
from gateway.demo.plans import PLAN_COUNTS

ROOT = "/collections/land-use-plans"
GEOJSON = {"Accept": "application/geo+json"}


def _items(client: TestClient, path: str, **params: str) -> list[dict[str, Any]]:
    got = client.get(f"{path}/items", params={"limit": "1000", **params}, headers=GEOJSON)
    assert got.status_code == 200, got.text
    return got.json()["features"]


@pytest.fixture(scope="module")
def every_plan(demo_client: TestClient) -> list[dict[str, Any]]:
    return _items(demo_client, ROOT)


def test_federated_collection_unites_both_cities(every_plan) -> None:
    tenants = [f["properties"]["tenant"] for f in every_plan]
    assert {t: tenants.count(t) for t in set(tenants)} == PLAN_COUNTS
    plans = profiles.get("land-use-plans")
    for feature in every_plan:
        assert plans.validate(feature) == [], feature


def test_both_dialects_give_the_same_profile_values(every_plan) -> None:
    by_city: dict[str, list[dict]] = {"hamburg": [], "leipzig": []}
    for f in every_plan:
        by_city[f["properties"]["tenant"]].append(f["properties"])
    for city, ags in (("hamburg", "02000000"), ("leipzig", "14713000")):
        props = by_city[city]
        assert {p["ags"] for p in props} == {ags}
        assert {p["planArt"] for p in props} >= {"10001", "1000"}  # codes, not names
        assert any(p["inkrafttretensDatum"] for p in props)  # German dates parsed
        assert any(p["externeReferenz"] for p in props)


def test_plan_areas_arrive_in_crs84_in_their_city(every_plan) -> None:
    for f in every_plan:
        lon, lat = f["geometry"]["coordinates"][0][0][0]
        if f["properties"]["tenant"] == "hamburg":
            assert 9.7 < lon < 10.4 and 53.3 < lat < 53.8
        else:
            assert 12.2 < lon < 12.6 and 51.2 < lat < 51.5


@pytest.mark.parametrize(
    ("cql", "keep"),
    [
        ("planArt = '10001'", lambda p: p["planArt"] == "10001"),
        ("rechtsstand IN ('4000', '4500')", lambda p: p["rechtsstand"] in ("4000", "4500")),
        ("ags = '14713000'", lambda p: p["ags"] == "14713000"),
        (
            "inkrafttretensDatum >= DATE('2015-01-01')",
            lambda p: (p["inkrafttretensDatum"] or "") >= "2015-01-01",
        ),
    ],
)
def test_filters_on_profile_values_select_the_same_plans_in_both_cities(
    demo_client: TestClient, every_plan, cql: str, keep
) -> None:
    got = _items(demo_client, ROOT, filter=cql, **{"filter-lang": "cql2-text"})
    want = {f["id"] for f in every_plan if keep(f["properties"])}
    assert want and {f["id"] for f in got} == want


def test_queryables_offer_the_code_lists_and_both_geometry_types(demo_client) -> None:
    got = demo_client.get("/leipzig/collections/bebauungsplaene/queryables").json()
    assert got["properties"]["geometry"]["format"] == "geometry-polygon-or-multipolygon"
    assert "10001" in got["properties"]["planArt"]["enum"]
    assert got["properties"]["inkrafttretensDatum"]["format"] == "date"
