"""A broken or hostile upstream OGC API gets a 502/504 by the source's deadline, and the
gateway keeps serving its other sources meanwhile.

Faults of the wire (hang, slow drip, latency, reset, garbage, 500s) come from
tests/faults.py's proxy in front of the real tipg; what a real server will not produce on
demand (malformed JSON, a wrong content type, a next link leaving the upstream, a 1 GB body,
a gzip bomb, a 4xx to a pushed filter) from respx.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from tests.faults import FaultProxy, fault_proxy
from tests.ogcapi_fixtures import Upstreams, upstreams  # noqa: F401 - fixtures
from tests.ogcapi_fixtures import street_trees as profiled
from tests.postgis_fixtures import postgis_fixture  # noqa: F401 - fixtures
from tests.test_faults import (
    assert_fault_answered_while_others_are_served,
    server_seconds,
    timed,
)

TIMEOUT = 0.5
FEDERATION = 0.8
SLACK = 0.1
BAD = "http://bad.upstream.test"
GOOD = "http://good.upstream.test"
CONFORMANCE = {
    "conformsTo": [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    ]
}
QUERYABLES = {"type": "object", "properties": {"name": {"type": "string"}}}
FEATURE = {
    "type": "Feature",
    "id": 1,
    "properties": {"name": "a"},
    "geometry": {"type": "Point", "coordinates": [10.0, 53.5]},
}


def gateway(
    tenants: dict[str, str], tmp: Path, profile: dict[str, Any] | None = None, **http: Any
) -> TestClient:
    resilience = {"timeout": TIMEOUT, "breaker_failures": 100}
    data = {
        "server": {"resilience": resilience, "federation": {"timeout": FEDERATION}},
        "tenants": {
            name: {
                "collections": {
                    "trees": {
                        "source": {
                            "connector": "oapif",
                            "url": url,
                            "http": {"retries": 0, **http},
                        },
                        **(profile or {}),
                    }
                }
            }
            for name, url in tenants.items()
        },
    }
    return TestClient(create_app(parse_config(data, "faults.yaml", tmp)))


# --- wire faults in front of a real upstream ------------------------------------------


@pytest.fixture(scope="module")
def tipg_proxy(upstreams: Upstreams) -> Iterator[FaultProxy]:  # noqa: F811
    with fault_proxy(int(upstreams.tipg.rsplit(":", 1)[1])) as proxy:
        yield proxy


@pytest.fixture()
def wired(
    upstreams: Upstreams,  # noqa: F811
    tipg_proxy: FaultProxy,
    tmp_path: Path,
) -> Iterator[TestClient]:
    tipg_proxy.set("pass")
    tenants = {
        "slow": f"http://127.0.0.1:{tipg_proxy.port}/collections/public.trees84",
        "ok": f"{upstreams.tipg}/collections/public.trees84",
    }
    with gateway(tenants, tmp_path, street_trees()) as client:
        yield client


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["hang", "drip", "latency", "reset", "garbage", "http500"])
def test_wire_faults_are_answered_by_the_deadline_while_others_are_served(
    wired: TestClient, tipg_proxy: FaultProxy, mode: str
) -> None:
    items = "/slow/collections/trees/items?limit=5"
    other = "/ok/collections/trees/items?limit=5"
    assert_fault_answered_while_others_are_served(wired, tipg_proxy, mode, items, other)


@pytest.mark.integration
def test_a_hung_city_leaves_a_flagged_partial_by_the_federation_deadline(
    wired: TestClient, tipg_proxy: FaultProxy
) -> None:
    assert wired.get("/collections/street-trees/items?limit=5").status_code == 200
    tipg_proxy.set("hang", cut=True)
    response, _ = timed(wired, "/collections/street-trees/items?limit=5")
    assert response.status_code == 200 and server_seconds(response) <= FEDERATION + SLACK
    doc = response.json()
    assert [f["source"] for f in doc["twinbridge:failedSources"]] == ["slow/trees"]
    assert "slow/trees" in response.headers["warning"] and len(doc["features"]) == 5


# --- faults only a mock produces ------------------------------------------------------


class Chunks(httpx.AsyncByteStream):
    """A body sent lazily in pieces, as a server does (never held whole): `data` cut in
    16 kB chunks, `times` over."""

    def __init__(self, data: bytes, times: int = 1) -> None:
        self.data, self.times = data, times

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.times):
            for start in range(0, len(self.data), 16384):
                yield self.data[start : start + 16384]


def street_trees() -> dict[str, Any]:
    """The profile over tipg's columns (profile names; tipg types the date as a string)."""
    collection = profiled({"connector": "oapif"})
    collection["mapping"]["properties"]["last_update"] = {"from": "last_update", "type": "date"}
    return {"profile": "street-trees", "mapping": collection["mapping"]}


def mock_upstream(base: str, items: Any) -> None:
    coll = f"{base}/collections/trees"
    respx.get(f"{base}/conformance").respond(json=CONFORMANCE)
    respx.get(coll).respond(json={"id": "trees", "links": []})
    respx.get(f"{coll}/queryables").respond(json=QUERYABLES)
    respx.get(f"{coll}/schema").respond(404)
    respx.get(f"{coll}/items/1").respond(
        json=FEATURE, headers={"content-type": "application/geo+json"}
    )
    respx.get(url__regex=rf"{coll}/items\?.*").mock(side_effect=items)


def page(features: list[Any], links: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, "links": links or []}


JSON = {"content-type": "application/json"}
BOMB = gzip.compress(b" " * 100 * 2**20)  # 100 kB on the wire


def leave(href: str) -> httpx.Response:
    return httpx.Response(200, json=page([FEATURE], [{"rel": "next", "href": href}]))


FAULTS: dict[str, Any] = {
    "malformed JSON": lambda: httpx.Response(
        200, content=b'{"type": "FeatureCollection", "features": [', headers=JSON
    ),
    "wrong content type": lambda: httpx.Response(
        200, content=b"<html>maintenance</html>", headers={"content-type": "text/html"}
    ),
    "not a feature collection": lambda: httpx.Response(200, json={"value": []}),
    "next link leaving the upstream": lambda: leave("http://169.254.169.254/latest/"),
    "next link climbing out": lambda: leave(f"{BAD}/collections/trees/items/../../../admin"),
    "1 GB body": lambda: httpx.Response(200, stream=Chunks(b" " * 2**20, 1024), headers=JSON),
    "gzip bomb": lambda: httpx.Response(
        200, stream=Chunks(BOMB), headers={**JSON, "content-encoding": "gzip"}
    ),
    "an unasked-for coding": lambda: httpx.Response(
        200, content=b"\x00" * 64, headers={**JSON, "content-encoding": "zstd"}
    ),
    "a redirect": lambda: httpx.Response(302, headers={"location": "http://169.254.169.254/"}),
    "a 503": lambda: httpx.Response(503, json={}),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_broken_upstream_answer_is_a_502_and_others_are_served(
    fault: str, tmp_path: Path
) -> None:
    with respx.mock:
        mock_upstream(BAD, lambda request: FAULTS[fault]())
        mock_upstream(GOOD, lambda request: httpx.Response(200, json=page([FEATURE])))
        with gateway(
            {"bad": f"{BAD}/collections/trees", "good": f"{GOOD}/collections/trees"},
            tmp_path,
            max_response_bytes=2**20,
        ) as client:
            started = time.perf_counter()
            response = client.get("/bad/collections/trees/items?limit=5")
            assert response.status_code == 502, response.text
            assert time.perf_counter() - started < TIMEOUT + 0.3
            assert "169.254" not in response.text and "upstream.test" not in response.text
            assert client.get("/good/collections/trees/items?limit=5").status_code == 200


def test_a_pushed_filter_the_upstream_refuses_is_not_retried_as_another_query(
    tmp_path: Path,
) -> None:
    with respx.mock:
        seen: list[str] = []

        def refuse(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            if "filter" in request.url.params:
                return httpx.Response(
                    400, json={"code": "InvalidParameterValue", "description": "no"}
                )
            return httpx.Response(200, json=page([FEATURE]))

        mock_upstream(BAD, refuse)
        with gateway({"bad": f"{BAD}/collections/trees"}, tmp_path) as client:
            response = client.get("/bad/collections/trees/items", params={"filter": "name = 'a'"})
            assert response.status_code == 400
            assert len(seen) == 1 and "filter=" in seen[0]
            assert client.get("/bad/collections/trees/items/1").json()["id"] == 1
