"""The embedded demo serves Hamburg's and Leipzig's charging stations as one federated
collection `/collections/ev-charging-stations`: a city layer in EPSG:25832 and a
Ladesäulenregister-style CSV in WGS 84 with power in W come out as the same profile, filters
on profile values work whichever way a city stores them, and Hamburg's stations are the
Things of its SensorThings demo."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

import profiles
from gateway.demo.charging import STATIONS
from gateway.demo.charging_stations import LEIPZIG_STATIONS

ROOT = "/collections/ev-charging-stations"
GEOJSON = {"Accept": "application/geo+json"}


def _items(client: TestClient, path: str, **params: str) -> list[dict[str, Any]]:
    got = client.get(f"{path}/items", params={"limit": "1000", **params}, headers=GEOJSON)
    assert got.status_code == 200, got.text
    return got.json()["features"]


@pytest.fixture(scope="module")
def every_station(demo_client: TestClient) -> list[dict[str, Any]]:
    return _items(demo_client, ROOT)


def test_federated_collection_unites_both_cities(every_station) -> None:
    tenants = [f["properties"]["tenant"] for f in every_station]
    assert {t: tenants.count(t) for t in set(tenants)} == {
        "hamburg": STATIONS,
        "leipzig": LEIPZIG_STATIONS,
    }
    stations = profiles.get("ev-charging-stations")
    for feature in every_station:
        assert stations.validate(feature) == [], feature


def test_stations_arrive_in_crs84_in_their_city(every_station) -> None:
    for f in every_station:
        lon, lat = f["geometry"]["coordinates"]
        if f["properties"]["tenant"] == "hamburg":
            assert 9.7 < lon < 10.4 and 53.3 < lat < 53.8
        else:
            assert 12.2 < lon < 12.6 and 51.2 < lat < 51.5


def test_hamburgs_stations_are_the_things_of_its_sensorthings_api(
    demo_client: TestClient, every_station
) -> None:
    got = demo_client.get(
        "/hamburg/sta/v1.1/Things", params={"$top": "100", "$expand": "Locations"}
    )
    assert got.status_code == 200, got.text
    things = {  # beside the stations, the store holds the synchronised tide gauges
        t["properties"]["assetID"]: t for t in got.json()["value"] if "assetID" in t["properties"]
    }
    hamburg = {
        f["id"].removeprefix("hamburg.ladesaeulen."): f
        for f in every_station
        if f["properties"]["tenant"] == "hamburg"
    }
    assert set(hamburg) == set(things)
    for asset, feature in hamburg.items():
        thing = things[asset]
        assert feature["properties"]["name"] == thing["name"]
        assert feature["properties"]["operator"] == thing["properties"]["operator"]
        where = thing["Locations"][0]["location"]["coordinates"]
        assert feature["geometry"]["coordinates"] == pytest.approx(where, abs=1e-5)


@pytest.mark.parametrize(
    ("cql", "keep"),
    [
        ("max_power_kw >= 50", lambda p: p["max_power_kw"] >= 50),
        ("max_power_kw = 11", lambda p: p["max_power_kw"] == 11),
        ("total_power_kw > 100", lambda p: (p["total_power_kw"] or 0) > 100),
        ("charging_type = 'fast'", lambda p: p["charging_type"] == "fast"),
        ("access IN ('customers', 'private')", lambda p: p["access"] != "public"),
        ("status <> 'operational'", lambda p: p["status"] != "operational"),
        (
            "commissioned < DATE('2016-01-01')",
            lambda p: p["commissioned"] is not None and p["commissioned"] < "2016-01-01",
        ),
    ],
)
def test_filters_on_profile_values_select_the_same_stations_in_both_cities(
    demo_client: TestClient, every_station, cql: str, keep
) -> None:
    got = _items(demo_client, ROOT, filter=cql, **{"filter-lang": "cql2-text"})
    want = {f["id"] for f in every_station if keep(f["properties"])}
    assert want and {f["id"] for f in got} == want
    assert {f["properties"]["tenant"] for f in got} <= {"hamburg", "leipzig"}


def test_watts_become_kilowatts_and_sort_as_such(demo_client: TestClient) -> None:
    got = _items(demo_client, "/leipzig/collections/ladeeinrichtungen", sortby="-max_power_kw")
    powers = [f["properties"]["max_power_kw"] for f in got]
    assert powers == sorted(powers, reverse=True)
    assert powers[0] == 250 and powers[-1] == 11


def test_lists_are_mapped_item_by_item_but_not_queryable(demo_client, every_station) -> None:
    connectors = {c for f in every_station for c in f["properties"]["connector_types"]}
    assert connectors == {"type2", "ccs2", "chademo", "schuko", "tesla"}
    triple = [f for f in every_station if "chademo" in f["properties"]["connector_types"]]
    assert triple and all(
        f["properties"]["connector_types"] == ["ccs2", "chademo", "type2"] for f in triple
    )
    queryables = demo_client.get(f"{ROOT}/queryables").json()["properties"]
    assert "max_power_kw" in queryables and "connector_types" not in queryables
    got = demo_client.get(f"{ROOT}/items", params={"filter": "connector_types = 'ccs2'"})
    assert got.status_code == 400 and "connector_types" in got.json()["description"]
