"""The embedded demo serves both cities' buildings as one federated collection
`/collections/buildings`: ALKIS numbers in metres (Leipzig, EPSG:25833) and CityGML texts in
centimetres (München, EPSG:31468) come out as the same profile, and filters on the profile's
values and units select the same buildings whichever way a city stores them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

import profiles
from gateway.demo.buildings import BUILDING_COUNTS

ROOT = "/collections/buildings"
GEOJSON = {"Accept": "application/geo+json"}


def _items(client: TestClient, path: str, **params: str) -> list[dict[str, Any]]:
    got = client.get(f"{path}/items", params={"limit": "1000", **params}, headers=GEOJSON)
    assert got.status_code == 200, got.text
    return got.json()["features"]


@pytest.fixture(scope="module")
def every_building(demo_client: TestClient) -> list[dict[str, Any]]:
    return _items(demo_client, ROOT)


def test_federated_collection_unites_both_cities(every_building) -> None:
    tenants = [f["properties"]["tenant"] for f in every_building]
    assert {t: tenants.count(t) for t in set(tenants)} == BUILDING_COUNTS
    buildings = profiles.get("buildings")
    for feature in every_building:
        assert buildings.validate(feature) == [], feature


def test_both_dialects_give_the_same_profile_values(every_building) -> None:
    by_city: dict[str, list[dict]] = {"leipzig": [], "muenchen": []}
    for f in every_building:
        by_city[f["properties"]["tenant"]].append(f["properties"])
    for props in by_city.values():
        assert {"residential", "mixed", "office", "garage"} <= {p["function"] for p in props}
        assert {"gable", "flat"} <= {p["roof_type"] for p in props}
        heights = [p["height_m"] for p in props if p["height_m"] is not None]
        assert min(heights) > 3 and max(heights) < 120  # metres in both, not centimetres
        assert all(isinstance(p["year_of_construction"], int | None) for p in props)
    assert {p["lod"] for p in by_city["leipzig"]} == {1}
    # ALKIS has no Zustand code for a building in use: the mapping's default names it
    assert {p["condition"] for p in by_city["leipzig"]} >= {"functional", "under_construction"}
    assert None not in {p["condition"] for p in by_city["leipzig"]}
    assert "functional" in {p["condition"] for p in by_city["muenchen"]}


def test_footprints_arrive_in_crs84_in_their_city(every_building) -> None:
    for f in every_building:
        rings = f["geometry"]["coordinates"]
        lon, lat = rings[0][0][0] if f["geometry"]["type"] == "MultiPolygon" else rings[0][0]
        if f["properties"]["tenant"] == "leipzig":
            assert 12.2 < lon < 12.6 and 51.2 < lat < 51.5
        else:
            assert 11.3 < lon < 11.8 and 48.0 < lat < 48.3


@pytest.mark.parametrize(
    ("cql", "keep"),
    [
        ("function = 'residential'", lambda p: p["function"] == "residential"),
        ("roof_type IN ('gable', 'mansard')", lambda p: p["roof_type"] in ("gable", "mansard")),
        ("height_m > 20", lambda p: (p["height_m"] or 0) > 20),
        (
            "eaves_height_m <= 9.5",
            lambda p: p["eaves_height_m"] is not None and p["eaves_height_m"] <= 9.5,
        ),  # fmt: skip
        ("year_of_construction < 1915", lambda p: (p["year_of_construction"] or 9999) < 1915),
        ("storeys_above_ground >= 5", lambda p: (p["storeys_above_ground"] or 0) >= 5),
        ("lod = 2", lambda p: p["lod"] == 2),
    ],
)
def test_filters_on_profile_values_select_the_same_buildings_in_both_cities(
    demo_client: TestClient, every_building, cql: str, keep
) -> None:
    got = _items(demo_client, ROOT, filter=cql, **{"filter-lang": "cql2-text"})
    want = {f["id"] for f in every_building if keep(f["properties"])}
    assert want and {f["id"] for f in got} == want


def test_sorting_by_height_orders_both_cities_in_metres(demo_client: TestClient) -> None:
    got = _items(demo_client, ROOT, sortby="-height_m", limit="20")
    heights = [f["properties"]["height_m"] for f in got]
    assert heights == sorted(heights, reverse=True)
    assert {f["properties"]["tenant"] for f in got} == {"leipzig", "muenchen"}


def test_queryables_offer_the_code_lists_units_and_both_geometry_types(demo_client) -> None:
    got = demo_client.get("/muenchen/collections/gebaeude/queryables").json()
    assert got["properties"]["geometry"]["format"] == "geometry-polygon-or-multipolygon"
    assert "gable" in got["properties"]["roof_type"]["enum"]
    assert got["properties"]["height_m"].get("x-ogc-unit") == "m"
