"""Masterportal's SensorThings layer against the demo: tenant hamburg's STA and the
federated root, both of its root nodes (Things, Datastreams), the demo's page size and a
small one (so that Things and expanded Datastreams come in several pages). Its loop
(tests/sensorthings/masterportal.py) must end in a bounded number of requests with every
Thing, its Locations and the latest Observation of each Datastream. Before nextLinks took
FROST's shape, each nested Observations link led to one more Observation, for ever."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.demo.places import HAMBURG_BOX
from gateway.sensorthings.config import StaServerSettings
from gateway.server import demo_config
from tests.sensorthings.masterportal import SensorThingsHttp, extent_points, layer_url

LATEST = "Observations($orderby=phenomenonTime desc;$top=1)"
THINGS_EXPAND = f"Locations,Datastreams/{LATEST}"
DATASTREAMS_EXPAND = f"Thing/Locations,{LATEST}"
ROOTS = {"hamburg": "/hamburg/sta/v1.1", "federated": "/sta/v1.1"}
SMALL = 3  # a page size below the demo's Datastreams per Thing (Leipzig's nodes have 4)


@pytest.fixture(scope="module", params=["default", "small"])
def paged(request: pytest.FixtureRequest, demo_dir: Any) -> Iterator[tuple[TestClient, int]]:
    """The demo as configured (pages of 100) and with pages of SMALL."""
    loaded = demo_config()
    if request.param == "small":
        loaded.config.server.sensorthings = StaServerSettings(default_top=SMALL)
    with TestClient(create_app(loaded)) as client:
        _wait_for_the_rest_syncs(client)
        yield client, loaded.config.server.sensorthings.default_top


def _wait_for_the_rest_syncs(client: TestClient, timeout: float = 60.0) -> None:
    """Hamburg's tide gauges and München's noise monitors and car parks are synchronised
    from REST APIs after start-up (each source in one transaction): compare listings only
    once they are there."""
    deadline = time.monotonic() + timeout
    for tenant, profile in (
        ("hamburg", "water-level"),
        ("muenchen", "noise"),
        ("muenchen", "parking-occupancy"),
    ):
        url = f"/{tenant}/sta/v1.1/Datastreams?$top=1&$filter=properties/profile eq '{profile}'"
        while not client.get(url).json().get("value"):
            assert time.monotonic() < deadline, f"{tenant} has no {profile} Datastream yet"
            time.sleep(0.2)


def fetcher(client: TestClient):
    def fetch(url: str) -> Any:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        return r.json()

    return fetch


def everything(client: TestClient, url: str) -> list[dict]:
    """A plain listing, page by page (a reference that needs no Masterportal)."""
    out: list[dict] = []
    while url:
        doc = fetcher(client)(url)
        out += doc["value"]
        url = doc.get("@iot.nextLink")
    return out


# EPSG:25832, from Rotterdam (x ≈ 190 km) over Hamburg and Leipzig to Aarhus (y ≈ 6,220 km)
# and München (y ≈ 5,330 km)
EVERY_DEMO_CITY = (100000.0, 5300000.0, 800000.0, 6300000.0)


def extent(root: str) -> tuple[float, float, float, float]:
    """Hamburg's map extent, or one over every demo city for the federated root."""
    return HAMBURG_BOX if root == "hamburg" else EVERY_DEMO_CITY


def latest_per_datastream(client: TestClient, root: str) -> dict[Any, dict]:
    streams = everything(client, f"{root}/Datastreams?$select=id&$expand={LATEST}")
    return {d["@iot.id"]: d["Observations"][0] for d in streams if d["Observations"]}


@pytest.mark.parametrize("where", list(ROOTS))
def test_things_with_locations_and_latest_observations_load_in_few_requests(paged, where):
    client, page = paged
    root = ROOTS[where]
    url = layer_url(
        f"http://testserver{root}",
        "Things",
        THINGS_EXPAND,
        extent_points(extent(where), "EPSG:25832"),
    )
    loader = SensorThingsHttp(fetcher(client))
    things = loader.get(url)
    reference = everything(client, f"{root}/Things?$expand=Datastreams($select=id;$count=true)")
    assert things and sorted(t["@iot.id"] for t in things) == sorted(
        t["@iot.id"] for t in reference
    )
    latest = latest_per_datastream(client, root)
    for thing in things:
        assert thing["Locations"] and thing["Locations"][0]["location"]["type"] == "Point"
        for ds in thing["Datastreams"]:
            assert ds["Observations"] == [latest[ds["@iot.id"]]], (thing["name"], ds["name"])
    # One request per page of Things, one per further page of a Thing's Datastreams.
    counts = [t["Datastreams@iot.count"] for t in reference]
    assert sum(len(t["Datastreams"]) for t in things) == sum(counts)
    nested = sum(max(0, math.ceil(n / page) - 1) for n in counts)
    assert len(loader.requests) == math.ceil(len(reference) / page) + nested, loader.requests


@pytest.mark.parametrize("where", list(ROOTS))
def test_datastreams_with_their_thing_and_latest_observation_load_in_few_requests(paged, where):
    client, page = paged
    root = ROOTS[where]
    points = extent_points(extent(where), "EPSG:25832")
    loader = SensorThingsHttp(fetcher(client))
    streams = loader.get(
        layer_url(f"http://testserver{root}", "Datastreams", DATASTREAMS_EXPAND, points)
    )
    latest = latest_per_datastream(client, root)
    assert sorted(d["@iot.id"] for d in streams) == sorted(latest)
    for ds in streams:
        assert ds["Thing"]["Locations"] and ds["Observations"] == [latest[ds["@iot.id"]]]
    assert len(loader.requests) == math.ceil(len(streams) / page), loader.requests


def test_the_extent_filters_things_by_location(paged):
    """Only Things whose Location lies in the polygon: Hamburg's extent leaves Leipzig out
    of the federated root, and both root nodes agree."""
    client, _ = paged
    points = extent_points(HAMBURG_BOX, "EPSG:25832")
    loader = SensorThingsHttp(fetcher(client))
    things = loader.get(layer_url("http://testserver/sta/v1.1", "Things", "Locations", points))
    assert things and all(t["@iot.id"].startswith("hamburg:") for t in things)
    hamburg = everything(client, "/hamburg/sta/v1.1/Things")
    assert len(things) == len(hamburg)
    streams = loader.get(layer_url("http://testserver/sta/v1.1", "Datastreams", "Thing", points))
    assert {d["Thing"]["@iot.id"] for d in streams} == {t["@iot.id"] for t in things}
    x0, y0, _, y1 = HAMBURG_BOX
    west = extent_points((x0 - 30000, y0, x0 - 5000, y1), "EPSG:25832")
    assert loader.get(layer_url("http://testserver/sta/v1.1", "Things", "Locations", west)) == []


@pytest.mark.parametrize("where", list(ROOTS))
def test_the_latest_value_fallback_is_one_request(paged, where):
    """`GET {url}/v1.1/Datastreams(<id>)/Observations?$orderby=phenomenonTime desc&$top=1`:
    its nextLink (`$top=1&$skip=1`) is one Masterportal does not follow."""
    client, _ = paged
    root = ROOTS[where]
    latest = latest_per_datastream(client, root)
    key, expected = next(iter(latest.items()))
    ident = f"'{key}'" if isinstance(key, str) else key
    url = f"http://testserver{root}/Datastreams({ident})/Observations?$orderby=phenomenonTime%20desc&$top=1"
    doc = fetcher(client)(url)
    assert doc["@iot.nextLink"].split("?")[1].startswith("$top=1&$skip=1&")
    loader = SensorThingsHttp(fetcher(client))
    assert loader.get(url) == [expected] and len(loader.requests) == 1


@pytest.mark.parametrize("where", list(ROOTS))
def test_next_links_have_frosts_shape(paged, where):
    """`$top` only where the client set one, then `$skip`; the nested options escaped (no
    `$top=` in the link but the client's); no nested link where the expanded `$top` is met."""
    client, page = paged
    root, fetch = ROOTS[where], fetcher(client)
    doc = fetch(f"{root}/Things?$expand=Datastreams/{LATEST}")
    for thing in doc["value"]:
        assert all("Observations@iot.nextLink" not in ds for ds in thing["Datastreams"])
    if page == SMALL:
        query = doc["@iot.nextLink"].split("?", 1)[1]
        assert query.startswith(f"$skip={SMALL}&") and "$top=" not in query
        assert "Observations(%24top%3D1%3B%24orderby%3DphenomenonTime%20desc)" in query
        assert "$skiptoken=" in query
    two = fetch(f"{root}/Things?$top=2&$skip=1&$count=true")
    assert two["@iot.nextLink"].split("?", 1)[1].startswith("$top=2&$skip=3&$count=true&")
    third = fetch(two["@iot.nextLink"])
    assert [t["@iot.id"] for t in third["value"]] == [
        t["@iot.id"] for t in everything(client, f"{root}/Things")[3:5]
    ]
