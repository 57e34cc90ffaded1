"""The server-side MQTT codec on its own: what it reads from clients, what it writes, and
that no byte sequence makes it fail any other way than `Malformed` (which closes the
connection)."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.sensorthings.ws import codec as c
from tests.sensorthings.mqtt_ws_client import (
    connect_packet,
    packet,
    publish_packet,
    subscribe_packet,
    text,
)


def _connected(v5: bool) -> c.Framer:
    framer = c.Framer(65_536)
    (connect,) = framer.feed(connect_packet(v5))
    assert isinstance(connect, c.Connect)
    return framer


def test_a_connect_with_password_and_user_property_is_read():
    props = bytes([0x26]) + text("api-key") + text("k1") + bytes([0x21, 0, 10])
    body = text("MQTT") + bytes([5, 0xC2]) + struct.pack("!H", 30)
    body += bytes([len(props)]) + props + text("client") + text("user") + text("secret")
    (connect,) = c.Framer(1024).feed(packet(0x10, body))
    assert isinstance(connect, c.Connect)
    assert connect.version == 5 and connect.keepalive == 30 and connect.clean
    assert connect.password == b"secret" and connect.username == "user"
    assert connect.props == {"user": [("api-key", "k1")], "receive_maximum": 10}


def test_mqtt5_subscription_options_are_read():
    framer = _connected(True)
    (sub,) = framer.feed(subscribe_packet(3, "v1.1/Observations", 0x2E))
    assert isinstance(sub, c.Subscribe)
    item = sub.items[0]
    assert (item.qos, item.no_local, item.retain_as_published, item.retain_handling) == (
        2,
        True,
        True,
        2,
    )


def test_a_packet_split_anywhere_is_read_once_whole():
    data = publish_packet("v1.1/Observations", b'{"result": 1}', qos=1, pid=42)
    framer = _connected(True)
    out = []
    for byte in data:
        out += framer.feed(bytes([byte]))
    assert out == [c.Publish("v1.1/Observations", b'{"result": 1}', 1, False, False, 42, {})]


def test_mqtt311_has_no_reason_codes_on_the_wire():
    assert c.suback(c.V311, 1, [2, c.NOT_AUTHORIZED]) == bytes([0x90, 4, 0, 1, 2, 0x80])
    assert c.ack(c.PUBACK, c.V311, 5, c.NOT_AUTHORIZED, "no") == bytes([0x40, 2, 0, 5])
    assert c.connack(c.V311, c.BAD_CREDENTIALS) == bytes([0x20, 2, 0, 4])


def test_mqtt5_acks_carry_reason_and_reason_string():
    encoded = c.ack(c.PUBACK, c.V5, 5, c.NOT_AUTHORIZED, "no")
    assert encoded == bytes([0x40, 9, 0, 5, 0x87, 5, 0x1F, 0, 2]) + b"no"
    assert c.ack(c.PUBACK, c.V5, 5) == bytes([0x40, 2, 0, 5])


def test_a_published_message_encodes_its_qos_and_packet_id():
    encoded = c.publish(c.V311, "t", b"{}", 2, 258)
    assert encoded == bytes([0x34, 7, 0, 1]) + b"t" + bytes([1, 2]) + b"{}"


@pytest.mark.parametrize(
    "data",
    [
        bytes([0x10, 0x00]),  # CONNECT without a body
        packet(0x10, text("MQTT") + bytes([4, 0x03, 0, 60]) + text("x")),  # reserved flag
        packet(0x10, text("MQTT") + bytes([4, 0x42, 0, 60]) + text("x") + text("p")),
        packet(0x10, text("MQTT") + bytes([4, 0x1A, 0, 60]) + text("x")),  # will QoS, no will
    ],
)
def test_invalid_connects_are_malformed(data):
    with pytest.raises(c.Malformed):
        c.Framer(1024).feed(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_any_bytes_after_connect_are_read_or_refused_as_malformed(data, v5):
    framer = _connected(v5)
    with contextlib.suppress(c.Malformed):
        framer.feed(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_as_the_first_packet_are_read_or_refused_as_malformed(data):
    with contextlib.suppress(c.Malformed):
        c.Framer(1024).feed(data)
