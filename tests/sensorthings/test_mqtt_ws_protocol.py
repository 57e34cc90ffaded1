"""The MQTT protocol on the gateway's WebSocket, packet by packet, with a raw client against
a real `twinbridge serve` (no broker): each step of the QoS 2 handshake in both directions,
and malformed packets, which close that connection and nothing else."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import orjson
import pytest

from tests.sensorthings.conftest import KEY
from tests.sensorthings.mqtt_ws_client import (
    Live,
    RawWs,
    connect_packet,
    live_gateway,
    packet,
    publish_packet,
    subscribe_packet,
    text,
)

pytestmark = pytest.mark.integration
CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK = 2, 3, 4, 5, 6, 7, 9
PINGRESP, DISCONNECT = 13, 14
TOPIC = "v1.1/Datastreams(1)/Observations"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_gateway(tmp_path_factory.mktemp("raw"), broker=False) as gateway:
        yield gateway


@pytest.fixture
def raw(live) -> Iterator[RawWs]:
    client = RawWs(live, "/a/mqtt")
    yield client
    client.close()


def _connected(raw: RawWs, v5: bool = True, password: str | None = None) -> bytes:
    raw.send(connect_packet(v5, password=password))
    kind, _, body = raw.read()
    assert kind == CONNACK and body[1] == 0
    return body


def test_the_connack_of_mqtt5_states_what_the_server_offers(raw):
    body = _connected(raw)
    props = body[3:]
    assert b"\x25\x00" in props  # Retain Available 0: no retained messages to send
    assert b"\x28\x00" in props  # no wildcard subscriptions
    assert b"\x27" in props  # Maximum Packet Size


def test_qos2_delivery_runs_the_whole_handshake(live, raw):
    _connected(raw)
    raw.send(subscribe_packet(7, TOPIC, 0x22))  # QoS 2, retain handling 2
    assert raw.read() == (SUBACK, 0, struct.pack("!H", 7) + b"\x00\x02")
    for result in ("first", "second"):  # the second proves the packet id was released
        live.observe("a", result)
        kind, flags, body = raw.read()
        assert kind == PUBLISH and (flags >> 1) & 3 == 2
        topic_len = struct.unpack("!H", body[:2])[0]
        assert body[2 : 2 + topic_len].decode() == TOPIC
        pid = body[2 + topic_len : 4 + topic_len]
        raw.send(packet(PUBREC << 4, pid))
        assert raw.read() == (PUBREL, 2, pid)
        raw.send(packet(PUBCOMP << 4, pid))
        payload = body[4 + topic_len :]
        props_len = payload[0]
        assert orjson.loads(payload[1 + props_len :])["result"] == result


def test_a_keyed_qos2_publish_is_created_once_even_when_repeated(live, raw):
    _connected(raw, password=KEY)
    before = live.count("a")
    message = publish_packet(TOPIC, orjson.dumps({"result": "qos2"}), qos=2, pid=9)
    raw.send(message)
    assert raw.read() == (PUBREC, 0, struct.pack("!H", 9))
    raw.send(bytes([message[0] | 0x08]) + message[1:])  # DUP: the PUBREC was "lost"
    assert raw.read() == (PUBREC, 0, struct.pack("!H", 9))
    raw.send(packet((PUBREL << 4) | 2, struct.pack("!H", 9)))
    assert raw.read() == (PUBCOMP, 0, struct.pack("!H", 9))
    assert live.count("a") == before + 1


def test_an_invalid_observation_is_answered_with_a_reason(live, raw):
    _connected(raw, password=KEY)
    raw.send(publish_packet(TOPIC, b"not json", qos=1, pid=3))
    kind, _, body = raw.read()
    assert kind == PUBACK and body[:2] == struct.pack("!H", 3)
    assert body[2] == 0x99  # payload format invalid
    raw.send(publish_packet(TOPIC, b'{"result": 1, "phenomenonTime": "never"}', qos=1, pid=4))
    kind, _, body = raw.read()
    assert kind == PUBACK and body[2] >= 0x80
    assert b"phenomenonTime" in body  # the reason string says what was wrong


def test_ping_is_answered(raw):
    _connected(raw, v5=False)
    raw.send(bytes([0xC0, 0]))
    assert raw.read() == (PINGRESP, 0, b"")


MALFORMED = {
    "SUBSCRIBE with wrong fixed-header flags": packet(0x80, b"\x00\x01\x00" + text(TOPIC) + b"\0"),
    "publish with QoS 3": packet(0x36, text("v1.1/Observations") + b"\x00\x01\x00{}"),
    "remaining length of five bytes": bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    "topic that is not UTF-8": packet(0x30, b"\x00\x02\xc3\x28\x00"),
    "wildcard in a topic name": packet(0x30, text("v1.1/#") + b"\x00"),
    "second CONNECT": connect_packet(),
    "subscription options with a reserved bit": subscribe_packet(1, TOPIC, 0xC0),
    "retain handling 3": subscribe_packet(1, TOPIC, 0x30),
    "packet larger than the limit": bytes([0x30]) + bytes([0xFF, 0xFF, 0x7F]),
    "duplicated property": packet(
        0x30, text("v1.1/Observations") + bytes([4, 0x01, 0, 0x01, 0]) + b"{}"
    ),
    "SUBSCRIBE without topics": packet(0x82, b"\x00\x01\x00"),
    "server-only packet type": packet(0x20, b"\x00\x00"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_packet_closes_the_connection_and_nothing_else(live, raw, name):
    _connected(raw)
    raw.send(MALFORMED[name])
    assert raw.closed()
    healthy = RawWs(live, "/a/mqtt")
    try:
        _connected(healthy)
    finally:
        healthy.close()


def test_the_first_packet_must_be_connect(raw):
    raw.send(subscribe_packet(1, TOPIC, 0))
    assert raw.closed()


def test_an_unsupported_protocol_level_gets_connack_0x01(raw):
    body = text("MQTT") + bytes([3, 2]) + b"\x00\x3c" + text("old")
    raw.send(packet(0x10, body))
    assert raw.read() == (CONNACK, 0, b"\x00\x01")
    assert raw.closed()


def test_a_text_frame_closes_the_connection(raw):
    _connected(raw)
    raw.ws.send("not binary")
    assert raw.closed()


def test_packets_split_across_and_joined_in_websocket_messages_are_read(raw):
    data = connect_packet() + subscribe_packet(5, TOPIC, 1) + bytes([0xC0, 0])
    for i in range(0, len(data), 3):
        raw.send(data[i : i + 3])
    assert raw.read()[0] == CONNACK
    assert raw.read() == (SUBACK, 0, struct.pack("!H", 5) + b"\x00\x01")
    assert raw.read() == (PINGRESP, 0, b"")


def test_a_client_silent_past_its_keepalive_is_disconnected(raw):
    raw.send(connect_packet(keepalive=1))
    assert raw.read()[0] == CONNACK
    kind, _, body = raw.read()  # sent after 1.5 s of silence; read waits generously
    assert kind == DISCONNECT and body[0] == 0x8D
    assert raw.closed()


def test_too_many_subscriptions_are_refused_with_quota_exceeded(live, raw):
    _connected(raw)
    codes = []
    for i in range(70):  # the default limit is 64
        raw.send(subscribe_packet(i + 1, f"v1.1/Things({i + 1})", 0))
        codes.append(raw.read()[2][-1])
    assert codes[:64] == [0] * 64
    assert set(codes[64:]) == {0x97}
