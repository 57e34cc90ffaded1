"""A WFS that hangs, drips, lags, resets or answers garbage or 500s (tests/faults.py's proxy
in front of the real MapServer) gets a 502/504 by the source's deadline + 100 ms while the
gateway serves its other sources; in the federated root it leaves a flagged partial result
by the federation deadline + 100 ms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from tests.faults import FaultProxy, fault_proxy
from tests.mapserver import MapServerHandle, mapserver_trees_fixture  # noqa: F401
from tests.ogcapi_fixtures import street_trees
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401
from tests.test_faults import assert_fault_answered_while_others_are_served, server_seconds, timed

pytestmark = pytest.mark.integration
TIMEOUT = 0.5
FEDERATION = 0.8
SLACK = 0.1
ITEMS = "/wfs/collections/trees/items?limit=5"


@pytest.fixture(scope="module")
def wfs_proxy(mapserver_trees: MapServerHandle) -> Iterator[FaultProxy]:
    port = httpx.URL(mapserver_trees.base_url).port
    assert port is not None
    with fault_proxy(port) as proxy:
        yield proxy


@pytest.fixture()
def client(
    mapserver_trees: MapServerHandle, postgis: PostGIS, wfs_proxy: FaultProxy, tmp_path: Path
) -> Iterator[TestClient]:
    wfs_proxy.set("pass")
    origin = mapserver_trees.base_url.rsplit("/", 1)[0]  # http://127.0.0.1:PORT
    proxied = mapserver_trees.wfs_url("trees").replace(origin, f"http://127.0.0.1:{wfs_proxy.port}")
    wfs = {"connector": "wfs", "url": proxied, "type_name": "trees", "id_field": "fid"}
    wfs |= {"empty_is_null": True, "hits": False, "http": {"retries": 0}}
    data = {
        "server": {
            "resilience": {"timeout": TIMEOUT, "breaker_failures": 100},
            "federation": {"timeout": FEDERATION},
        },
        "tenants": {
            "wfs": {"collections": {"trees": street_trees(wfs, "fid")}},
            "db": {
                "collections": {
                    "trees": street_trees(
                        {"connector": "postgis", **postgis.options("trees")}, "fid"
                    )
                }
            },
        },
    }
    with TestClient(create_app(parse_config(data, "faults.yaml", tmp_path))) as c:
        yield c


@pytest.mark.parametrize("mode", ["hang", "drip", "latency", "reset", "garbage", "http500"])
def test_wire_faults_of_a_wfs_are_answered_by_the_deadline_while_others_are_served(
    client: TestClient, wfs_proxy: FaultProxy, mode: str
) -> None:
    other = "/db/collections/trees/items?limit=5"
    assert_fault_answered_while_others_are_served(client, wfs_proxy, mode, ITEMS, other)


def test_a_hung_wfs_leaves_a_flagged_partial_by_the_federation_deadline(
    client: TestClient, wfs_proxy: FaultProxy
) -> None:
    assert client.get("/collections/street-trees/items?limit=5").status_code == 200
    wfs_proxy.set("hang", cut=True)
    response, _ = timed(client, "/collections/street-trees/items?limit=5")
    assert response.status_code == 200 and server_seconds(response) <= FEDERATION + SLACK
    doc = response.json()
    assert [f["source"] for f in doc["twinbridge:failedSources"]] == ["wfs/trees"]
    assert "wfs/trees" in response.headers["warning"] and len(doc["features"]) == 5
