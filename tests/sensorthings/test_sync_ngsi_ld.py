"""NGSI-LD -> SensorThings end to end, over loopback HTTP against the NGSI-LD test broker:
history from the temporal API on the first synchronisation, polling afterwards, and the
subscription whose notifications carry the shared secret as receiverInfo."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse

from gateway.app import create_app
from gateway.demo.ngsi_seed import LINK
from gateway.demo.ngsibroker.ld import create_ld_app
from tests.conftest import free_port
from tests.sensorthings.conftest import sta_config
from tests.sensorthings.ngsi_sync import count, seed, serve, wait_for

STA = "/t/sta/v1.1"
HOURS = 6
LD = {"Link": LINK, "Content-Type": "application/json"}
STATION = "urn:ngsi-ld:AirQualityObserved:AAR-BANE"


@pytest.fixture
def broker() -> Iterator[str]:
    with serve(create_ld_app()) as url:
        seed(None, url, hours=HOURS)
        yield url


def source(broker: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "ngsi-ld",
        "name": "aarhus",
        "url": broker,
        "types": ["AirQualityObserved", "WaterQualityObserved"],
        "interval": 0.3,
        "history": {"days": 3650, "page_size": 3},
        **extra,
    }


@contextmanager
def gateway(tmp: Path, sync: dict[str, Any], port: int | None = None) -> Iterator[str]:
    loaded, _ = sta_config(tmp / uuid.uuid4().hex[:8], {"t": {"sync": [sync]}})
    with serve(create_app(loaded), port) as url:
        yield url


def stream(url: str, entity: str, attribute: str) -> dict[str, Any]:
    doc = httpx.get(
        f"{url}{STA}/Datastreams",
        params={
            "$filter": f"properties/entityId eq '{entity}'"
            f" and properties/attribute eq '{attribute}'",
            "$expand": "Sensor,ObservedProperty",
        },
    ).json()
    assert len(doc["value"]) == 1, doc
    return doc["value"][0]


def test_first_sync_reads_the_history_then_polls(broker, tmp_path):
    streams = 5 * 5 + 3 * 4  # air stations x (no2 pm10 pm25 o3 temperature), water x 4
    with gateway(tmp_path, source(broker)) as url:
        total = wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= streams * HOURS)
        assert total == streams * HOURS
        assert count(url, f"{STA}/Things") == 8
        assert count(url, f"{STA}/Datastreams") == streams
        ph = stream(url, "urn:ngsi-ld:WaterQualityObserved:AAR-AA-01", "pH")
        assert ph["unitOfMeasurement"]["definition"].endswith("#[pH]")
        assert ph["ObservedProperty"]["definition"].endswith("dataModel.WaterQuality/pH")
        assert ph["Sensor"]["name"] == "urn:ngsi-ld:Device:AAR-AA-01"  # from refDevice
        assert ph["phenomenonTime"] == "2026-03-02T07:00:00Z/2026-03-02T12:00:00Z"
        r = httpx.patch(
            f"{broker}/ngsi-ld/v1/entities/{STATION}/attrs",
            json={
                "no2": {
                    "type": "Property",
                    "value": 55.5,
                    "unitCode": "GQ",
                    "observedAt": "2026-03-02T13:00:00Z",
                }
            },
            headers=LD,
        )
        assert r.status_code == 204, r.text
        no2 = stream(url, STATION, "no2")
        observations = f"{url}{STA}/Datastreams({no2['@iot.id']})/Observations"
        values = wait_for(
            lambda: httpx.get(observations, params={"$orderby": "phenomenonTime desc"}).json(),
            lambda d: len(d["value"]) == HOURS + 1,
        )["value"]
        assert (values[0]["phenomenonTime"], values[0]["result"]) == ("2026-03-02T13:00:00Z", 55.5)
        assert count(url, f"{STA}/Observations") == streams * HOURS + 1


def test_history_can_be_switched_off(broker, tmp_path):
    with gateway(tmp_path, source(broker, history={"enabled": False})) as url:
        assert wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 37) == 37


def without_temporal(app: Any) -> Any:
    """The broker as Orion-LD without Mintaka: the temporal API is not there."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/ngsi-ld/v1/temporal"):
            problem = {
                "type": "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound",
                "title": "Not Found",
                "status": 404,
            }
            await JSONResponse(problem, status_code=404)(scope, receive, send)
            return
        await app(scope, receive, send)

    return wrapped


def test_a_broker_without_the_temporal_api_is_polled_as_usual(tmp_path):
    with serve(without_temporal(create_ld_app())) as broker:
        seed(None, broker, hours=2)
        loaded, _ = sta_config(tmp_path / "x", {"t": {"sync": [source(broker)]}})
        app = create_app(loaded)
        with serve(app) as url:
            state = app.state.sensorthings.sync.source("t", "aarhus")
            wait_for(lambda: state.history_tries, lambda n: n >= 3)
            runs = wait_for(lambda: state.runs, lambda n: n >= 5)
            assert state.history_wanted is False and state.failures == 0 and runs >= 5
            assert count(url, f"{STA}/Observations") == 37  # the current values only
            metrics = httpx.get(f"{url}/metrics").text
            assert 'outcome="history_failed",source="t/aarhus"} 3.0' in metrics


@pytest.fixture
def secret_env() -> Iterator[tuple[str, str]]:
    name, value = f"TB_SYNC_SECRET_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    os.environ[name] = value
    yield name, value
    os.environ.pop(name, None)


def test_the_ld_broker_notifies_with_the_secret_as_receiver_info(broker, tmp_path, secret_env):
    port = free_port()
    sub = {
        "notify_url": f"http://127.0.0.1:{port}/t/sync/ngsi/aarhus/notify",
        "secret_env": secret_env[0],
    }
    cfg = source(broker, interval=0, subscription=sub, history={"enabled": False})
    with gateway(tmp_path, cfg, port) as url:
        subs = wait_for(
            lambda: httpx.get(f"{broker}/ngsi-ld/v1/subscriptions", headers=LD).json(),
            lambda s: len(s) == 1,
        )
        info = subs[0]["notification"]["endpoint"]["receiverInfo"]
        assert info == [{"key": "X-TwinBridge-Secret", "value": secret_env[1]}]
        wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 37)
        r = httpx.patch(
            f"{broker}/ngsi-ld/v1/entities/{STATION}/attrs",
            json={
                "pm10": {"type": "Property", "value": 77.0, "observedAt": "2026-03-02T14:00:00Z"}
            },
            headers=LD,
        )
        assert r.status_code == 204, r.text
        pm10 = stream(url, STATION, "pm10")
        observations = f"{url}{STA}/Datastreams({pm10['@iot.id']})/Observations"
        values = wait_for(lambda: httpx.get(observations).json()["value"], lambda v: len(v) == 2)
        assert 77.0 in [v["result"] for v in values]
        assert pm10["unitOfMeasurement"]["symbol"] == "µg/m³"
