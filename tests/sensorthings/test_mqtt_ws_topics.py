"""Which topics a WebSocket client may subscribe to, what they map to, and the federated
form of a notification; then, in process, the will message and the connection limit."""

from __future__ import annotations

import asyncio
import struct
import time

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

from gateway.errors import ConfigError
from gateway.sensorthings.ws.topics import Refused, federate, federated_topic, tenant_topic
from tests.sensorthings.conftest import (
    AUTH,
    KEY,
    datastream,
    location,
    observed_property,
    sta_config,
)
from tests.sensorthings.mqtt_ws_client import packet, text


@pytest.mark.parametrize(
    ("topic", "local"),
    [
        ("v1.1/Observations", "Observations"),
        ("v1.1/Datastreams(7)/Observations", "Datastreams(7)/Observations"),
        ("v1.1/Things(1)", "Things(1)"),
        ("v1.1/Things(1)/name", "Things(1)/name"),
        ("v1.1/Things(1)/Locations", "Things(1)/Locations"),
    ],
)
def test_standard_topics_map_to_the_tenants_paths(topic, local):
    assert tenant_topic(topic) == local


@pytest.mark.parametrize(
    "topic",
    [
        "v1.0/Observations",
        "/v1.1/Observations",
        "v1.1/Observations?$select=result",
        "v1.1/+/Observations",
        "v1.1/Things/name",
        "v1.1/Things(1)/name/$value",
        "v1.1/Things/$ref",
        "v1.1/Datastreams(7)/Thing/Locations",
        "v1.1/Datastreams(7)/Thing",
        "v1.1/Datastreams('a:7')/Observations",
        "v1.1/CreateObservations",
        "t/v1.1/Observations",
    ],
)
def test_other_topics_are_refused_on_a_tenant_socket(topic):
    with pytest.raises(Refused):
        tenant_topic(topic)


def test_federated_topics_name_one_tenant_or_all():
    tenants = ["a", "b"]
    assert federated_topic("v1.1/Observations", tenants) == [
        ("a", "Observations"),
        ("b", "Observations"),
    ]
    assert federated_topic("v1.1/Things('b:3')", tenants) == [("b", "Things(3)")]
    assert federated_topic("v1.1/Things(b:3)/Locations", tenants) == [("b", "Things(3)/Locations")]
    for refused in ("v1.1/Things(3)", "v1.1/Things('c:3')", "v1.1/Things('b:x')"):
        with pytest.raises(Refused):
            federated_topic(refused, tenants)


def test_a_notification_in_the_federated_view_carries_federated_ids_and_links():
    doc = {
        "@iot.id": 5,
        "@iot.selfLink": "http://h/b/sta/v1.1/Observations(5)",
        "Datastream@iot.navigationLink": "http://h/b/sta/v1.1/Observations(5)/Datastream",
        "result": "(5)",
    }
    out = orjson.loads(federate(orjson.dumps(doc), "b", "http://h/sta/v1.1"))
    assert out == {
        "@iot.id": "b:5",
        "@iot.selfLink": "http://h/sta/v1.1/Observations('b:5')",
        "Datastream@iot.navigationLink": "http://h/sta/v1.1/Observations('b:5')/Datastream",
        "result": "(5)",
    }


def _thing(client) -> None:
    thing = {
        "name": "n",
        "description": "d",
        "Locations": [location(1)],
        "Datastreams": [datastream(1, observed_property(1))],
    }
    assert client.post("/t/sta/v1.1/Things", json=thing, headers=AUTH).status_code == 201


def _count(client) -> int:
    url = "/t/sta/v1.1/Datastreams(1)/Observations?$count=true&$top=0"
    return client.get(url).json()["@iot.count"]


def test_the_will_of_a_client_that_vanishes_is_published_as_a_create(make_client):
    client = make_client()
    _thing(client)
    will = orjson.dumps({"result": "last will"})
    body = text("MQTT") + bytes([5, 0x02 | 0x04 | 0x08 | 0x40 | 0x80]) + struct.pack("!H", 60)
    body += b"\x00" + text("willing") + b"\x00" + text("v1.1/Datastreams(1)/Observations")
    body += struct.pack("!H", len(will)) + will + text("u") + text(KEY)
    with client.websocket_connect("/t/mqtt", subprotocols=["mqtt"]) as ws:
        ws.send_bytes(packet(0x10, body))
        connack = ws.receive_bytes()
        assert connack[0] == 0x20 and connack[3] == 0  # accepted
        assert _count(client) == 0  # the socket closes without DISCONNECT: the will goes out
    deadline = time.monotonic() + 10  # a generous bound, not a speed requirement
    while _count(client) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(client) == 1


def test_connections_over_the_limit_are_refused(make_client):
    client = make_client(server={"sensorthings": {"websocket": {"max_connections": 1}}})
    with (
        client.websocket_connect("/t/mqtt", subprotocols=["mqtt"]),
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/t/mqtt", subprotocols=["mqtt"]),
    ):
        pass
    with client.websocket_connect("/t/mqtt", subprotocols=["mqtt"]) as again:
        again.send_bytes(packet(0x10, text("MQTT") + bytes([4, 2, 0, 60]) + text("x")))
        assert again.receive_bytes() == bytes([0x20, 2, 0, 0])


def test_switched_off_there_is_no_socket_and_no_announcement(make_client):
    client = make_client(server={"sensorthings": {"websocket": {"enabled": False}}})
    settings = client.get("/t/sta/v1.1/").json()["serverSettings"]
    assert not any("mqtt" in key for key in settings)
    assert not any("mqtt" in c for c in settings["conformance"])
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/t/mqtt", subprotocols=["mqtt"]),
    ):
        pass


def test_two_tenants_may_not_share_a_topic_prefix(tmp_path):
    """Both would publish their Datastream 1 on the same topic."""
    with pytest.raises(ConfigError, match="share the MQTT topic prefix ''"):
        sta_config(
            tmp_path, {"a": {"mqtt": {"topic_prefix": ""}}, "b": {"mqtt": {"topic_prefix": ""}}}
        )
    with pytest.raises(ConfigError, match="share the MQTT topic prefix 'a/'"):
        sta_config(tmp_path, {"a": {}, "b": {"mqtt": {"topic_prefix": "a/"}}})
    sta_config(tmp_path, {"a": {"mqtt": {"topic_prefix": ""}}, "b": {}})


class _ReadOnlyDoor:
    def authenticate(self, key):
        return 0

    def route(self, topic):
        return [("t/" + topic, "t", None)]

    async def create(self, topic, payload, key):
        return 0x87, "read-only"


def test_a_client_that_does_not_keep_up_is_disconnected_not_waited_for():
    """The socket stops taking bytes after the CONNACK; the queue fills; the session ends
    (with an MQTT 5 DISCONNECT 0x97 attempted) instead of buffering without bound."""
    from gateway.sensorthings.config import WebSocketSettings
    from gateway.sensorthings.ws.hub import Hub
    from gateway.sensorthings.ws.session import MqttSession
    from tests.sensorthings.mqtt_ws_client import connect_packet, subscribe_packet

    async def scenario() -> list[bytes]:
        sent: list[bytes] = []

        async def send(data: bytes) -> None:
            sent.append(data)
            if len(sent) > 2:  # CONNACK and SUBACK pass, then the client stalls
                await asyncio.Event().wait()

        incoming: asyncio.Queue[bytes] = asyncio.Queue()
        for data in (connect_packet(), subscribe_packet(1, "v1.1/Observations", 0)):
            incoming.put_nowait(data)

        async def receive(timeout: float | None) -> bytes:
            return await incoming.get()

        hub = Hub({"t": "t/"})
        session = MqttSession(send, _ReadOnlyDoor(), hub, WebSocketSettings(max_queued=10))
        task = asyncio.ensure_future(session.run(receive))
        while "t/v1.1/Observations" not in hub.interest:
            await asyncio.sleep(0.01)
        for _ in range(50):
            hub.dispatch("t/v1.1/Observations", b"{}")
            await asyncio.sleep(0)
        await asyncio.wait_for(task, 30)  # generous: it must end, not hang
        assert hub.interest == {}  # its subscription is gone with it
        return sent

    sent = asyncio.run(scenario())
    assert sent[-1][0] == 0xE0 and sent[-1][2] == 0x97  # DISCONNECT, quota exceeded
