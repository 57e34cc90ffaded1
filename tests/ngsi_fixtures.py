"""The NGSI-v2 test broker on a loopback port, started once per session, holding
Rotterdam-style air-quality stations (synthetic, deterministic) in tenant `rotterdam`:
numbers with a broken sensor's "n/a", null values, missing attributes, names with
commas, `..` and regex characters, DateTime observations, geo:json and geo:point
locations and entities without one; plus decoys another type, service path and tenant
must keep out."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app as create_gateway
from gateway.config import parse_config
from gateway.demo.ngsibroker import create_app
from gateway.demo.ngsibroker.serve import BrokerThread
from gateway.demo.ngsibroker.store import Store

TENANT = "rotterdam"
ENTITY_TYPE = "AirQualityObserved"
STATIONS = 240
DISTRICTS = ["Centrum", "Noord", "Delfshaven", "Kralingen-Crooswijk", "Feijenoord", "IJsselmonde"]
STREETS = ["Coolsingel", "Blaak", "Weena", "Schiedamseweg", "Maasboulevard", "Zwaanshals"]
# values Orion takes but a naive q would break: commas (a list), `..` (a range), a regex
ODD_NAMES = ["Station, Kade 5", "Station ..Punt", "Station [Golf]", "Station 50%"]


@dataclass
class Broker:
    url: str
    store: Store
    thread: BrokerThread
    requests: list[str]  # "GET /v2/entities?…" as the broker received them, newest last


class Recorder:
    """The broker app, noting each request's method, path and query string."""

    def __init__(self, app: Any, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope["query_string"].decode()
            self.seen.append(f"{scope['method']} {scope['path']}?{unquote(query)}")
        await self.app(scope, receive, send)


def station(i: int, rng: random.Random) -> dict[str, Any]:
    """One AirQualityObserved entity (normalized)."""
    district = DISTRICTS[i % len(DISTRICTS)]
    name = ODD_NAMES[i // 60 % 4] if i % 60 == 7 else f"Meetstation {STREETS[i % 6]} {i}"
    entity: dict[str, Any] = {
        "id": f"urn:ngsi:AirQualityObserved:RTM-{i:04d}",
        "type": ENTITY_TYPE,
        "name": {"type": "Text", "value": name},
        "district": {"type": "Text", "value": district},
        "reliability": {"type": "Number", "value": round(rng.random(), 3)},
        "dateObserved": {
            "type": "DateTime",
            "value": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{(i * 7) % 60:02d}:00Z",
        },
    }
    if i % 17 != 0:
        no2: Any = round(rng.uniform(5, 80), 1) if i % 3 else rng.randint(5, 80)
        if i % 53 == 0:
            no2 = "n/a"  # a broken sensor: not a number, whatever its type says
        elif i % 59 == 0:
            no2 = "23"  # a number sent as text: Orion's unquoted 23 would meet it
        entity["NO2"] = {
            "type": "Number",
            "value": no2,
            "metadata": {"unitCode": {"type": "Text", "value": "GQ"}},
        }
    entity["PM10"] = {
        "type": "Number",
        "value": None if i % 23 == 0 else round(rng.uniform(2, 60), 1),
    }
    lon, lat = round(4.40 + rng.random() * 0.15, 6), round(51.88 + rng.random() * 0.08, 6)
    if i % 29 == 0:
        pass  # no location at all
    elif i % 11 == 0:
        entity["location"] = {"type": "geo:point", "value": f"{lat}, {lon}"}
    else:
        entity["location"] = {
            "type": "geo:json",
            "value": {"type": "Point", "coordinates": [lon, lat]},
        }
    return entity


def stations() -> list[dict[str, Any]]:
    rng = random.Random(12)
    return [station(i, rng) for i in range(STATIONS)]


def load(url: str) -> None:
    """The stations into /air/<district> paths of `rotterdam`, and the decoys."""
    with httpx.Client(base_url=url, timeout=30) as client:
        by_path: dict[str, list[dict[str, Any]]] = {}
        for entity in stations():
            path = "/air/" + entity["district"]["value"].replace("-", "_")
            by_path.setdefault(path, []).append(entity)
        for path, entities in by_path.items():
            headers = {"Fiware-Service": "Rotterdam", "Fiware-ServicePath": path}
            answer = client.post(
                "/v2/op/update",
                json={"actionType": "append", "entities": entities},
                headers=headers,
            )
            answer.raise_for_status()
        # delft: a station with two locations and no default, so geo-queries fail (409)
        two = {"type": "geo:json", "value": {"type": "Point", "coordinates": [4.36, 52.01]}}
        delft = {"id": "D1", "type": ENTITY_TYPE, "location": two, "location2": two}
        client.post("/v2/entities", json=delft, headers={"Fiware-Service": "delft"})
        decoy = station(1, random.Random(1))
        for headers, body in (
            (
                {"Fiware-Service": "rotterdam", "Fiware-ServicePath": "/traffic"},
                {**decoy, "type": "TrafficFlowObserved"},
            ),
            ({"Fiware-Service": "schiedam", "Fiware-ServicePath": "/air"}, decoy),
        ):
            client.post("/v2/entities", json=body, headers=headers).raise_for_status()


@pytest.fixture(scope="session")
def ngsi_broker() -> Iterator[Broker]:
    store, seen = Store(), []
    thread = BrokerThread(Recorder(create_app(store=store), seen))  # type: ignore[arg-type]
    url = thread.start()
    load(url)
    yield Broker(url, store, thread, seen)
    thread.stop()


@pytest.fixture(scope="module")
def ngsi_gateway(ngsi_broker: Broker) -> Iterator[TestClient]:
    """The gateway with collection `air` of the stations three ways: `pushed` (filters,
    sorting by reliability.value sent to the broker), `residual` (every filter evaluated
    in the gateway) and `broken` (the delft tenant, whose geo-queries the broker refuses)."""
    source = {"connector": "ngsi-v2", "url": ngsi_broker.url, "entity_type": ENTITY_TYPE}
    extra: dict[str, dict[str, Any]] = {
        "pushed": {"service": "rotterdam", "sortables": ["reliability.value"]},
        "residual": {"service": "rotterdam", "filter": "off"},
        "broken": {"service": "delft"},
    }
    tenants = {
        name: {
            "collections": {
                "air": {"source": {**source, **more}, "temporal_property": "dateObserved.value"}
            }
        }
        for name, more in extra.items()
    }
    config = {"server": {"max_limit": 10000, "default_limit": 10}, "tenants": tenants}
    with TestClient(create_gateway(parse_config(config, "ngsi.yaml", Path(".")))) as client:
        yield client


def items(client: TestClient, tenant: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/{tenant}/collections/air/items", params={"limit": 10000, **params})
    assert answer.status_code == 200, (tenant, params, answer.text)
    return answer.json()


def ids(doc: dict[str, Any]) -> list[str]:
    return sorted(str(f["id"]) for f in doc["features"])
