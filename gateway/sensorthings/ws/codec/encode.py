"""Writing what a server sends: CONNACK, SUBACK, UNSUBACK, PUBLISH and its acknowledgements,
PINGRESP, DISCONNECT (MQTT 5 only)."""

from __future__ import annotations

import struct
from typing import Any

from gateway.sensorthings.ws.codec.packets import (
    BAD_CREDENTIALS,
    CONNACK,
    DISCONNECT,
    IDENTIFIER_REJECTED,
    PINGRESP,
    PUBLISH,
    PUBREL,
    SUBACK,
    SUCCESS,
    UNSPECIFIED,
    UNSUBACK,
    UNSUPPORTED_VERSION,
    V5,
)

# the MQTT 3.1.1 CONNACK return code of each MQTT 5 reason (5: not authorized)
_V311_CONNACK = {SUCCESS: 0, UNSUPPORTED_VERSION: 1, IDENTIFIER_REJECTED: 2, BAD_CREDENTIALS: 4}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def _props(props: dict[int, Any]) -> bytes:
    """Server-sent properties by id; values are ints (by the id's width) or strings."""
    body = bytearray()
    for pid, value in props.items():
        kind = _SERVER_PROPS[pid]
        body += _varint(pid)
        if kind == "byte":
            body.append(value)
        elif kind == "u16":
            body += struct.pack("!H", value)
        elif kind == "u32":
            body += struct.pack("!I", value)
        else:
            body += _text(value)
    return _varint(len(body)) + bytes(body)


_SERVER_PROPS = {
    0x03: "str",  # content type
    0x11: "u32",  # session expiry interval
    0x12: "str",  # assigned client identifier
    0x13: "u16",  # server keep alive
    0x1F: "str",  # reason string
    0x21: "u16",  # receive maximum
    0x24: "byte",  # maximum QoS
    0x25: "byte",  # retain available
    0x27: "u32",  # maximum packet size
    0x28: "byte",  # wildcard subscription available
    0x29: "byte",  # subscription identifiers available
    0x2A: "byte",  # shared subscription available
}


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def connack(version: int, reason: int, props: dict[int, Any] | None = None) -> bytes:
    if version == V5:
        return _packet(CONNACK << 4, bytes([0, reason]) + _props(props or {}))
    return _packet(CONNACK << 4, bytes([0, _V311_CONNACK.get(reason, 5)]))


def suback(version: int, packet_id: int, codes: list[int]) -> bytes:
    if version != V5:  # 3.1.1 knows granted QoS and 0x80 only
        codes = [c if c <= 2 else UNSPECIFIED for c in codes]
    head = struct.pack("!H", packet_id) + (b"\x00" if version == V5 else b"")
    return _packet(SUBACK << 4, head + bytes(codes))


def unsuback(version: int, packet_id: int, codes: list[int]) -> bytes:
    if version == V5:
        return _packet(UNSUBACK << 4, struct.pack("!H", packet_id) + b"\x00" + bytes(codes))
    return _packet(UNSUBACK << 4, struct.pack("!H", packet_id))


def ack(kind: int, version: int, packet_id: int, reason: int = SUCCESS, text: str = "") -> bytes:
    """PUBACK, PUBREC, PUBREL or PUBCOMP; in MQTT 5 with a reason code and, on failure, the
    reason string."""
    first = (kind << 4) | (2 if kind == PUBREL else 0)
    body = struct.pack("!H", packet_id)
    if version == V5 and (reason != SUCCESS or text):
        body += bytes([reason]) + _props({0x1F: text} if text else {})
    return _packet(first, body)


def publish(
    version: int, topic: str, payload: bytes, qos: int, packet_id: int | None, dup: bool = False
) -> bytes:
    first = (PUBLISH << 4) | (qos << 1) | (0x08 if dup else 0)
    body = _text(topic)
    if qos:
        assert packet_id is not None
        body += struct.pack("!H", packet_id)
    if version == V5:
        body += _props({0x03: "application/json"})
    return _packet(first, body + payload)


def pingresp() -> bytes:
    return bytes([PINGRESP << 4, 0])


def disconnect(reason: int, text: str = "") -> bytes:
    """A server DISCONNECT exists in MQTT 5 only."""
    return _packet(DISCONNECT << 4, bytes([reason]) + _props({0x1F: text} if text else {}))
