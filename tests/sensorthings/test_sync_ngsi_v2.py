"""NGSI-v2 -> SensorThings end to end, over loopback HTTP: the gateway polls the NGSI-v2 test
broker (gateway/demo/ngsibroker) and, with a subscription, is notified by it; the synced
entities are read back through the SensorThings API."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.demo.ngsi_seed import ROTTERDAM_PATH, ROTTERDAM_SERVICE
from gateway.demo.ngsibroker import create_app as create_broker
from gateway.sensorthings.sync import subscribe
from gateway.sensorthings.sync.ngsi import NgsiSource
from tests.conftest import free_port, missing_service
from tests.sensorthings.conftest import sta_config
from tests.sensorthings.ngsi_sync import count, seed, serve, wait_for
from tests.sensorthings.test_mqtt import BROKER, Subscriber

STA = "/t/sta/v1.1"
V2 = {"Fiware-Service": ROTTERDAM_SERVICE, "Fiware-ServicePath": ROTTERDAM_PATH}
STATION = "Rotterdam-AirQualityObserved-NL01485"


@pytest.fixture
def broker() -> Iterator[str]:
    with serve(create_broker(v2=True)) as url:
        seed(url, None, hours=2)
        yield url


def source(broker: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "ngsi-v2",
        "name": "air",
        "url": broker,
        "service": ROTTERDAM_SERVICE,
        "service_path": ROTTERDAM_PATH,
        "types": ["AirQualityObserved"],
        "interval": 0.3,
        **extra,
    }


@contextmanager
def gateway(
    tmp: Path, sync: dict[str, Any], port: int | None = None, kind: str = "sqlite"
) -> Iterator[tuple[str, Any]]:
    loaded, _ = sta_config(tmp / uuid.uuid4().hex[:8], {"t": {"sync": [sync]}}, kind=kind)
    app = create_app(loaded)
    with serve(app, port) as url:
        yield url, app


def update(broker: str, entity: str, attrs: dict[str, Any]) -> None:
    r = httpx.post(f"{broker}/v2/entities/{entity}/attrs", json=attrs, headers=V2, timeout=10)
    assert r.status_code == 204, r.text


def no2_stream(url: str) -> dict[str, Any]:
    doc = httpx.get(
        f"{url}{STA}/Datastreams",
        params={
            "$filter": f"properties/entityId eq '{STATION}' and properties/attribute eq 'no2'",
            "$expand": "ObservedProperty,Sensor,Thing($expand=Locations)",
        },
        timeout=10,
    ).json()
    assert len(doc["value"]) == 1, doc
    return doc["value"][0]


def test_polling_maps_the_stations_and_adds_each_new_value_once(broker, tmp_path, store_kind):
    with gateway(tmp_path, source(broker), kind=store_kind) as (url, app):
        assert wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 50) == 50
        assert count(url, f"{STA}/Things") == 10
        assert count(url, f"{STA}/Datastreams") == 50  # no2, pm10, pm25, o3, temperature
        assert count(url, f"{STA}/ObservedProperties") == 5
        ds = no2_stream(url)
        assert ds["unitOfMeasurement"]["symbol"] == "µg/m³"
        assert ds["unitOfMeasurement"]["definition"].endswith("#ug/m3")
        assert ds["ObservedProperty"]["definition"] == (
            "https://smartdatamodels.org/dataModel.Environment/no2"
        )
        assert ds["Sensor"]["name"] == "AirQualityObserved (air)"
        assert ds["Thing"]["name"] == "Rotterdam-Statenweg"
        assert ds["Thing"]["Locations"][0]["location"]["coordinates"] == [4.4615, 51.9343]
        observations = (
            f"{url}{STA}/Datastreams({ds['@iot.id']})/Observations?$orderby=phenomenonTime desc"
        )
        first = httpx.get(observations).json()["value"]
        assert [o["phenomenonTime"] for o in first] == ["2026-03-02T12:00:00Z"]

        update(
            broker,
            STATION,
            {
                "no2": {"type": "Number", "value": 41.5, "metadata": {"unitCode": {"value": "GQ"}}},
                "dateObserved": {"type": "DateTime", "value": "2026-03-02T13:00:00Z"},
            },
        )
        later = wait_for(lambda: httpx.get(observations).json()["value"], lambda v: len(v) == 2)
        assert [(o["phenomenonTime"], o["result"]) for o in later][0] == (
            "2026-03-02T13:00:00Z",
            41.5,
        )
        state = app.state.sensorthings.sync.source("t", "air")
        runs = state.runs
        wait_for(lambda: state.runs, lambda n: n >= runs + 3)
        # the entity's dateObserved dates every attribute: the other four at 13:00 too, once
        assert count(url, f"{STA}/Observations") == 55
        assert count(url, f"{STA}/Things") == 10


def test_a_moved_station_moves_its_location(broker, tmp_path):
    with gateway(tmp_path, source(broker)) as (url, _):
        wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 50)
        update(
            broker,
            STATION,
            {
                "location": {
                    "type": "geo:json",
                    "value": {"type": "Point", "coordinates": [4.5, 51.95]},
                },
                "dateObserved": {"type": "DateTime", "value": "2026-03-02T14:00:00Z"},
            },
        )
        moved = wait_for(
            lambda: no2_stream(url)["Thing"]["Locations"][0]["location"]["coordinates"],
            lambda c: c == [4.5, 51.95],
        )
        assert moved == [4.5, 51.95]
        thing = no2_stream(url)["Thing"]["@iot.id"]
        assert count(url, f"{STA}/Things({thing})/HistoricalLocations") == 2
        assert count(url, f"{STA}/Locations") == 11  # the old place stays in the history
        ds = no2_stream(url)["@iot.id"]
        features = httpx.get(
            f"{url}{STA}/Datastreams({ds})/Observations",
            params={"$orderby": "phenomenonTime", "$expand": "FeatureOfInterest"},
        ).json()["value"]
        coordinates = [o["FeatureOfInterest"]["feature"]["coordinates"] for o in features]
        assert coordinates == [[4.4615, 51.9343], [4.5, 51.95]]


def test_a_broker_that_is_down_is_retried_with_backoff_and_counted(tmp_path):
    port = free_port()  # nothing listens there
    with gateway(tmp_path, source(f"http://127.0.0.1:{port}")) as (url, app):
        state = app.state.sensorthings.sync.source("t", "air")
        wait_for(lambda: state.failures, lambda n: n >= 1)
        assert state.failures >= 1 and state.due > 0
        metrics = httpx.get(f"{url}/metrics").text
        assert 'twinbridge_sync_runs_total{outcome="failed",source="t/air"}' in metrics
        assert httpx.get(f"{url}/health").status_code == 200


@pytest.fixture
def secret_env() -> Iterator[tuple[str, str]]:
    name, value = f"TB_SYNC_SECRET_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    os.environ[name] = value
    yield name, value
    os.environ.pop(name, None)


def subscribed(broker: str, secret_env: str, port: int) -> dict[str, Any]:
    notify = f"http://127.0.0.1:{port}/t/sync/ngsi/air/notify"
    sub = {"notify_url": notify, "secret_env": secret_env}
    return source(broker, interval=0, subscription=sub)


def test_the_broker_notifies_the_gateway_and_the_value_appears(broker, tmp_path, secret_env):
    port = free_port()
    cfg = subscribed(broker, secret_env[0], port)
    with gateway(tmp_path, cfg, port) as (url, app):
        subs = wait_for(
            lambda: httpx.get(f"{broker}/v2/subscriptions", headers=V2).json(),
            lambda s: len(s) == 1,
        )
        assert subs[0]["notification"]["httpCustom"]["headers"] == {
            "X-TwinBridge-Secret": secret_env[1]
        }
        wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 50)
        update(
            broker,
            STATION,
            {
                "no2": {"type": "Number", "value": 12.25},
                "dateObserved": {"type": "DateTime", "value": "2026-03-02T15:00:00Z"},
            },
        )
        ds = no2_stream(url)
        observations = (
            f"{url}{STA}/Datastreams({ds['@iot.id']})/Observations?$orderby=phenomenonTime desc"
        )
        values = wait_for(lambda: httpx.get(observations).json()["value"], lambda v: len(v) == 2)
        assert values[0]["result"] == 12.25  # interval 0: only a notification brought it
        # a restart finds the subscription again instead of adding one
        state = app.state.sensorthings.sync.source("t", "air")
        asyncio.run(ensure_again(state.source.cfg))
        assert len(httpx.get(f"{broker}/v2/subscriptions", headers=V2).json()) == 1


async def ensure_again(cfg: Any) -> None:
    again = NgsiSource("t", cfg)
    try:
        await subscribe.ensure(again)
    finally:
        await again.close()


def test_notifications_without_the_secret_or_malformed_change_nothing(broker, tmp_path, secret_env):
    port = free_port()
    cfg = subscribed(broker, secret_env[0], port)
    with gateway(tmp_path, cfg, port) as (url, _):
        wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 50)
        notify = f"{url}/t/sync/ngsi/air/notify"
        entity = {
            "id": STATION,
            "type": "AirQualityObserved",
            "no2": {"type": "Number", "value": 99},
            "dateObserved": {"type": "DateTime", "value": "2026-03-02T16:00:00Z"},
        }
        body = {"subscriptionId": "x", "data": [entity]}
        assert httpx.post(notify, json=body).status_code == 401
        wrong = {"X-TwinBridge-Secret": "guess"}
        assert httpx.post(notify, json=body, headers=wrong).status_code == 403
        right = {"X-TwinBridge-Secret": secret_env[1]}
        assert httpx.post(notify, content=b"{not json", headers=right).status_code == 400
        assert httpx.post(notify, json={"data": "x"}, headers=right).status_code == 400
        big = b'{"data": [' + b" " * 2_000_000 + b"]}"
        assert httpx.post(notify, content=big, headers=right).status_code == 413
        assert httpx.post(f"{url}/t/sync/ngsi/nobody/notify", json=body).status_code == 404
        assert count(url, f"{STA}/Observations") == 50
        assert httpx.post(notify, json=body, headers=right).status_code == 204
        assert count(url, f"{STA}/Observations") == 51
        broken = {**entity, "no2": {"type": "Number", "value": "n/a"}}
        broken["dateObserved"] = {"type": "DateTime", "value": "2026-03-02T18:00:00Z"}
        sent = {"subscriptionId": "x", "data": [broken]}
        assert httpx.post(notify, json=sent, headers=right).status_code == 204
        assert count(url, f"{STA}/Observations") == 51  # left out, counted
        metrics = httpx.get(f"{url}/metrics").text
        assert (
            'twinbridge_data_quality_total{field="no2",problem="type",source="t/air"} 1.0'
        ) in metrics
        for outcome in ("refused", "invalid", "too_large", "accepted"):
            assert f'outcome="{outcome}",source="t/air"' in metrics


@pytest.mark.integration
def test_synced_observations_reach_the_mqtt_topics(broker, tmp_path):
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError:
        missing_service("Mosquitto is not listening on 127.0.0.1:1883")
    prefix = f"tb-sync-{uuid.uuid4().hex[:10]}/"
    port = free_port()
    server = {
        "base_url": f"http://127.0.0.1:{port}",
        "sensorthings": {"mqtt": {"host": BROKER[0], "port": BROKER[1]}},
    }
    tenants = {"t": {"sync": [source(broker)], "mqtt": {"topic_prefix": prefix}}}
    loaded, _ = sta_config(tmp_path / "mqtt", tenants, server)
    subscriber = Subscriber(f"{prefix}v1.1/Observations")
    try:
        with serve(create_app(loaded), port) as url:
            first = [subscriber.next(10) for _ in range(50)]
            assert {m[1]["phenomenonTime"] for m in first} == {"2026-03-02T12:00:00Z"}
            assert all(m[1]["@iot.selfLink"].startswith(f"{url}/t/sta/v1.1/") for m in first)
            update(
                broker,
                STATION,
                {
                    "no2": {"type": "Number", "value": 33.3},
                    "dateObserved": {"type": "DateTime", "value": "2026-03-02T17:00:00Z"},
                },
            )
            later = [subscriber.next(10)[1] for _ in range(5)]
            assert 33.3 in [m["result"] for m in later]
    finally:
        subscriber.close()


@pytest.mark.integration
def test_frost_sta_client_reads_the_synced_things_and_datastreams(broker, tmp_path):
    import frost_sta_client as fsc

    with gateway(tmp_path, source(broker)) as (url, _):
        wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 50)
        service = fsc.SensorThingsService(f"{url}{STA}")
        things = (
            service.things()
            .query()
            .filter("properties/entityType eq 'AirQualityObserved'")
            .expand("Locations,Datastreams($expand=ObservedProperty;$orderby=name)")
            .orderby("name", "asc")
            .top(4)
            .list()
        )
        every = list(things)  # follows the nextLinks
        assert len(every) == 10
        first = every[0]
        assert first.name == "Rotterdam-Bentinckplein"
        assert first.properties["entityId"] == "Rotterdam-AirQualityObserved-NL01493"
        place = first.locations.entities[0].location  # a dict for application/geo+json
        assert place["coordinates"] == [4.4549, 51.9295]
        names = [d.observed_property.name for d in first.datastreams.entities]
        assert sorted(names) == ["no2", "o3", "pm10", "pm25", "temperature"]
        stream = first.datastreams.entities[0]
        observations = list(stream.get_observations().query().list())
        assert len(observations) == 1 and isinstance(observations[0].result, float)


def test_a_subscription_that_fails_does_not_keep_the_poll_from_running(broker, tmp_path):
    cfg = subscribed(broker, f"TB_UNSET_{uuid.uuid4().hex[:8]}", free_port())  # no secret
    with gateway(tmp_path, cfg) as (url, app):
        assert wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 50) == 50
        state = app.state.sensorthings.sync.source("t", "air")
        wait_for(lambda: state.failures, lambda n: n >= 1)
        assert state.subscribed is None and state.polled
        metrics = httpx.get(f"{url}/metrics").text
        assert 'twinbridge_sync_subscription_checks_total{outcome="failed",source="t/air"}' in (
            metrics
        )


def test_values_without_date_observed_are_dated_by_the_brokers_date_modified(
    broker, tmp_path, secret_env
):
    station = {
        "id": "Rotterdam-EVChargingStation-Coolsingel",
        "type": "EVChargingStation",
        "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [4.48, 51.92]}},
        "availableCapacity": {"type": "Number", "value": 4},
        "status": {"type": "Text", "value": "working"},
    }
    r = httpx.post(f"{broker}/v2/entities", json=station, headers=V2)
    assert r.status_code == 201, r.text
    port = free_port()
    cfg = {**subscribed(broker, secret_env[0], port), "types": ["EVChargingStation"]}
    with gateway(tmp_path, cfg, port) as (url, _):
        wait_for(lambda: count(url, f"{STA}/Observations"), lambda n: n >= 1)
        wait_for(
            lambda: httpx.get(f"{broker}/v2/subscriptions", headers=V2).json(),
            lambda s: len(s) == 1,
        )
        update(broker, station["id"], {"availableCapacity": {"type": "Number", "value": 3}})
        values = wait_for(
            lambda: httpx.get(f"{url}{STA}/Observations?$orderby=phenomenonTime").json()["value"],
            lambda v: len(v) == 2,
        )
        assert [v["result"] for v in values] == [4, 3]  # the second came by notification
        # as instants: within one second "…:54Z" sorts after "…:54.108Z" as text
        first, second = (datetime.fromisoformat(v["phenomenonTime"]) for v in values)
        assert first < second


def test_a_subscription_the_broker_lost_is_made_again(broker, tmp_path, secret_env, monkeypatch):
    from gateway.sensorthings.sync import scheduler

    monkeypatch.setattr(scheduler, "RECHECK", 0.5)
    monkeypatch.setattr(scheduler, "IDLE", 0.5)
    port = free_port()
    with gateway(tmp_path, subscribed(broker, secret_env[0], port), port):
        subs_url = f"{broker}/v2/subscriptions"
        [sub] = wait_for(lambda: httpx.get(subs_url, headers=V2).json(), lambda s: len(s) == 1)
        assert httpx.delete(f"{subs_url}/{sub['id']}", headers=V2).status_code == 204
        again = wait_for(
            lambda: httpx.get(subs_url, headers=V2).json(), lambda s: len(s) == 1, timeout=10
        )
        assert len(again) == 1 and again[0]["id"] != sub["id"]
