"""MQTT through the real Mosquitto broker: a subscriber (paho-mqtt, as a client app would
run it) receives observations created over HTTP, and observations published to the broker
are created when the API key rules allow it. Topics carry a per-test prefix (xdist-safe)."""

from __future__ import annotations

import queue
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.conftest import missing_service
from tests.sensorthings.conftest import AUTH, KEY, datastream, location, observed_property

pytestmark = pytest.mark.integration
BROKER = ("127.0.0.1", 1883)


@pytest.fixture(scope="module")
def broker() -> tuple[str, int]:
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError:
        missing_service("Mosquitto is not listening on 127.0.0.1:1883")
    return BROKER


class Subscriber:
    """A real MQTT client collecting what arrives on its topics."""

    def __init__(self, *topics: str, v5: bool = True) -> None:
        self.messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.on_message = lambda c, u, m: self.messages.put(
            (m.topic, orjson.loads(m.payload))
        )
        self.client.connect(*BROKER)
        self.client.loop_start()
        for topic in topics:
            result, mid = self.client.subscribe(topic, qos=1)
            assert result == mqtt.MQTT_ERR_SUCCESS
        time.sleep(0.3)  # let the broker register the subscriptions

    def next(self, timeout: float = 5.0) -> tuple[str, Any]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def mqtt_client(make_client, broker) -> Iterator[tuple[Any, str, int]]:
    """A gateway bridged to Mosquitto; its topics start with a unique prefix."""
    prefix = f"tb-test-{uuid.uuid4().hex[:10]}/"
    client = make_client(
        {"t": {"mqtt": {"topic_prefix": prefix}}},
        server={"sensorthings": {"mqtt": {"host": broker[0], "port": broker[1]}}},
    )
    thing = {
        "name": "node",
        "description": "d",
        "Locations": [location(1)],
        "Datastreams": [datastream(1, observed_property(1))],
    }
    assert client.post("/t/sta/v1.1/Things", json=thing, headers=AUTH).status_code == 201
    ds = client.get("/t/sta/v1.1/Datastreams").json()["value"][0]["@iot.id"]
    yield client, prefix, ds


def test_a_subscriber_receives_an_observation_created_over_http(mqtt_client):
    client, prefix, ds = mqtt_client
    sub = Subscriber(f"{prefix}v1.1/Datastreams({ds})/Observations", f"{prefix}v1.1/Observations")
    try:
        body = {
            "result": 42.5,
            "phenomenonTime": "2024-05-01T12:00:00Z",
            "Datastream": {"@iot.id": ds},
        }
        created = client.post("/t/sta/v1.1/Observations", json=body, headers=AUTH).json()
        got = dict(sub.next() for _ in range(2))
        for topic in (f"{prefix}v1.1/Datastreams({ds})/Observations", f"{prefix}v1.1/Observations"):
            assert got[topic]["result"] == 42.5
            assert got[topic]["@iot.selfLink"] == created["@iot.selfLink"]
    finally:
        sub.close()


def test_the_root_document_announces_the_endpoints_and_prefix(mqtt_client):
    """The gateway's own WebSocket (standard topics) first, then the broker (whose topics
    carry the prefix)."""
    client, prefix, _ = mqtt_client
    settings = client.get("/t/sta/v1.1/").json()["serverSettings"]
    create = settings[
        "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations"
    ]
    assert create == {
        "endpoints": ["ws://testserver/t/mqtt", "mqtt://127.0.0.1:1883"],
        "topicPrefix": prefix,
    }
    assert (
        "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates"
        in settings["conformance"]
    )


def _wait_count(client, ds: int, count: int, timeout: float = 5.0) -> int:
    deadline, seen = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        seen = client.get(f"/t/sta/v1.1/Datastreams({ds})/Observations?$count=true&$top=0").json()[
            "@iot.count"
        ]
        if seen >= count:
            return seen
        time.sleep(0.05)
    return seen


def test_publishing_with_the_api_key_creates_an_observation(mqtt_client):
    client, prefix, ds = mqtt_client
    sub = Subscriber(f"{prefix}v1.1/Observations", f"{prefix}replies")
    try:
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("api-key", KEY)]
        props.ResponseTopic = f"{prefix}replies"
        body = {"result": 7, "phenomenonTime": "2024-05-01T13:00:00Z"}
        sub.client.publish(
            f"{prefix}v1.1/Datastreams({ds})/Observations",
            orjson.dumps(body),
            qos=1,
            properties=props,
        ).wait_for_publish(5)
        assert _wait_count(client, ds, 1) == 1
        messages = dict(sub.next() for _ in range(2))
        assert messages[f"{prefix}v1.1/Observations"]["result"] == 7
        assert messages[f"{prefix}replies"]["@iot.selfLink"].startswith(
            "http://testserver/t/sta/v1.1/Observations("
        )
    finally:
        sub.close()


def test_publishing_without_the_key_is_refused_with_an_answer(mqtt_client):
    client, prefix, ds = mqtt_client
    sub = Subscriber(f"{prefix}replies")
    try:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = f"{prefix}replies"
        body = {"result": 1, "Datastream": {"@iot.id": ds}}
        sub.client.publish(
            f"{prefix}v1.1/Observations", orjson.dumps(body), qos=1, properties=props
        ).wait_for_publish(5)
        topic, answer = sub.next()
        assert answer == {"type": "error", "code": 403, "message": answer["message"]}
        assert _wait_count(client, ds, 1, timeout=0.5) == 0
    finally:
        sub.close()


def test_anonymous_writes_accept_plain_mqtt_3_publishers(make_client, broker):
    prefix = f"tb-test-{uuid.uuid4().hex[:10]}/"
    tenant = {"t": {"mqtt": {"topic_prefix": prefix, "anonymous_writes": True}}}
    client = make_client(
        tenant, server={"sensorthings": {"mqtt": {"host": broker[0], "port": broker[1]}}}
    )
    thing = {
        "name": "node",
        "description": "d",
        "Locations": [location(1)],
        "Datastreams": [datastream(1, observed_property(1))],
    }
    client.post("/t/sta/v1.1/Things", json=thing, headers=AUTH)
    ds = client.get("/t/sta/v1.1/Datastreams").json()["value"][0]["@iot.id"]
    sub = Subscriber(v5=False)
    try:
        body = {"result": 3, "Datastream": {"@iot.id": ds}}
        sub.client.publish(
            f"{prefix}v1.1/Observations", orjson.dumps(body), qos=1
        ).wait_for_publish(5)
        sub.client.publish(f"{prefix}v1.1/Observations", b"not json", qos=1).wait_for_publish(5)
        assert _wait_count(client, ds, 1) == 1
    finally:
        sub.close()


def test_updates_are_published_on_the_entity_and_property_topics(mqtt_client):
    client, prefix, ds = mqtt_client
    sub = Subscriber(f"{prefix}v1.1/Datastreams({ds})", f"{prefix}v1.1/Datastreams({ds})/name")
    try:
        client.patch(f"/t/sta/v1.1/Datastreams({ds})", json={"name": "renamed"}, headers=AUTH)
        got: dict[str, Any] = {}
        while len(got) < 2:  # a late notification of the creation may come first
            topic, message = sub.next()
            if message.get("name") == "renamed":
                got[topic] = message
        assert got[f"{prefix}v1.1/Datastreams({ds})"]["@iot.id"] == ds
        assert got[f"{prefix}v1.1/Datastreams({ds})/name"] == {"name": "renamed"}
    finally:
        sub.close()
