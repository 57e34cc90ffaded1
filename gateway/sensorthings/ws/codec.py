"""The server side of the MQTT 3.1.1 and 5.0 wire format: the packets a client sends are
decoded, the packets a server sends are encoded. Nothing else (no sessions, no topics).

Why our own: amqtt (the maintained Python broker) has a codec, but it speaks MQTT 3.1.1
only and is bound to its own broker's stream adapters; paho and aiomqtt are client-side.
This module is small, has no I/O and rejects what the specifications call malformed
(MQTT 3.1.1 §1.5, §2, §3; MQTT 5 §1.5, §2, §3): a wrong fixed-header flag, a remaining
length over four bytes, invalid UTF-8 or U+0000 in a string, a duplicated property, a
property a packet may not carry, a reserved bit set, QoS 3, bytes left over. Every such
packet raises `Malformed`; the caller closes the connection.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)
V311, V5 = 4, 5

# reason codes (MQTT 5 §2.4); the 3.1.1 CONNACK return codes are mapped in `connack`
SUCCESS = 0x00
NO_SUBSCRIPTION = 0x11
UNSPECIFIED = 0x80
MALFORMED = 0x81
PROTOCOL_ERROR = 0x82
UNSUPPORTED_VERSION = 0x84
BAD_CREDENTIALS = 0x86
NOT_AUTHORIZED = 0x87
KEEPALIVE_TIMEOUT = 0x8D
TOPIC_FILTER_INVALID = 0x8F
TOPIC_NAME_INVALID = 0x90
PACKET_ID_NOT_FOUND = 0x92
RECEIVE_MAXIMUM_EXCEEDED = 0x93
PACKET_TOO_LARGE = 0x95
QUOTA_EXCEEDED = 0x97
PAYLOAD_FORMAT_INVALID = 0x99
WILDCARDS_UNSUPPORTED = 0xA2

_V311_CONNACK = {SUCCESS: 0, UNSUPPORTED_VERSION: 1, 0x85: 2, BAD_CREDENTIALS: 4}


class Malformed(Exception):
    """A packet the specification calls malformed or a protocol error; `reason` is the
    MQTT 5 reason code of the DISCONNECT that may precede closing."""

    def __init__(self, message: str, reason: int = MALFORMED) -> None:
        super().__init__(message)
        self.reason = reason


# -- properties (MQTT 5 §2.2.2.2): id -> (name, kind) --------------------------------
_PROPS: dict[int, tuple[str, str]] = {
    0x01: ("payload_format", "byte"),
    0x02: ("message_expiry", "u32"),
    0x03: ("content_type", "str"),
    0x08: ("response_topic", "str"),
    0x09: ("correlation_data", "bin"),
    0x0B: ("subscription_id", "varint"),
    0x11: ("session_expiry", "u32"),
    0x15: ("auth_method", "str"),
    0x16: ("auth_data", "bin"),
    0x17: ("request_problem_info", "byte"),
    0x18: ("will_delay", "u32"),
    0x19: ("request_response_info", "byte"),
    0x1F: ("reason_string", "str"),
    0x21: ("receive_maximum", "u16"),
    0x22: ("topic_alias_maximum", "u16"),
    0x23: ("topic_alias", "u16"),
    0x26: ("user", "pair"),
    0x27: ("maximum_packet_size", "u32"),
}
_ALLOWED: dict[int, frozenset[int]] = {
    CONNECT: frozenset({0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27}),
    PUBLISH: frozenset({0x01, 0x02, 0x03, 0x08, 0x09, 0x23, 0x26}),
    -1: frozenset({0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26}),  # will properties
    SUBSCRIBE: frozenset({0x0B, 0x26}),
    UNSUBSCRIBE: frozenset({0x26}),
    PUBACK: frozenset({0x1F, 0x26}),
    DISCONNECT: frozenset({0x11, 0x1F, 0x26}),
}
for _kind in (PUBREC, PUBREL, PUBCOMP):
    _ALLOWED[_kind] = _ALLOWED[PUBACK]


@dataclass
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    props: dict[str, Any]


@dataclass
class Connect:
    version: int
    client_id: str
    clean: bool
    keepalive: int
    username: str | None
    password: bytes | None
    will: Will | None
    props: dict[str, Any]


@dataclass
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    props: dict[str, Any] = field(default_factory=dict)


@dataclass
class SubscribeItem:
    topic: str
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@dataclass
class Subscribe:
    packet_id: int
    items: list[SubscribeItem]
    props: dict[str, Any]


@dataclass
class Unsubscribe:
    packet_id: int
    topics: list[str]


@dataclass
class Ack:
    """PUBACK, PUBREC, PUBREL or PUBCOMP."""

    kind: int
    packet_id: int
    reason: int = SUCCESS


@dataclass
class Control:
    """PINGREQ, DISCONNECT (with its reason) or AUTH."""

    kind: int
    reason: int = SUCCESS


Packet = Connect | Publish | Subscribe | Unsubscribe | Ack | Control


class _Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = bytes(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise Malformed("the packet ends early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack("!H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack("!I", self.take(4))[0])

    def varint(self) -> int:
        value, shift = 0, 0
        for _ in range(4):
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise Malformed("a variable byte integer longer than four bytes")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        raw = self.binary()
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("a string is not valid UTF-8") from None
        if "\x00" in value:
            raise Malformed("a string holds U+0000")
        return value

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def done(self) -> None:
        if self.left:
            raise Malformed("bytes left over at the end of the packet")

    def props(self, kind: int) -> dict[str, Any]:
        end = self.varint()
        end += self.pos
        if end > len(self.data):
            raise Malformed("the properties run past the packet")
        out: dict[str, Any] = {}
        while self.pos < end:
            pid = self.varint()
            if pid not in _PROPS or pid not in _ALLOWED[kind]:
                raise Malformed(f"property 0x{pid:02x} is not allowed here", PROTOCOL_ERROR)
            name, vkind = _PROPS[pid]
            value = self._prop_value(vkind)
            if name == "user":
                out.setdefault("user", []).append(value)
            elif name in out:
                raise Malformed(f"property {name} given twice", PROTOCOL_ERROR)
            else:
                out[name] = value
        if self.pos != end:
            raise Malformed("a property runs past the property length")
        return out

    def _prop_value(self, vkind: str) -> Any:
        if vkind == "byte":
            return self.u8()
        if vkind == "u16":
            return self.u16()
        if vkind == "u32":
            return self.u32()
        if vkind == "varint":
            return self.varint()
        if vkind == "bin":
            return self.binary()
        if vkind == "pair":
            return (self.text(), self.text())
        return self.text()


def _connect(r: _Reader) -> Connect:
    name = r.text()
    level = r.u8()
    if name != "MQTT" or level not in (V311, V5):
        # 3.1.1 §3.1.2.2: answer CONNACK 0x01 (unacceptable protocol level), then close
        raise Malformed(f"protocol {name!r} level {level}", UNSUPPORTED_VERSION)
    flags = r.u8()
    if flags & 0x01:
        raise Malformed("the reserved CONNECT flag is set")
    has_will, will_qos, will_retain = bool(flags & 0x04), (flags >> 3) & 0x03, bool(flags & 0x20)
    if will_qos == 3 or (not has_will and (will_qos or will_retain)):
        raise Malformed("invalid will flags")
    if level == V311 and flags & 0x40 and not flags & 0x80:
        raise Malformed("a password without a user name")
    keepalive = r.u16()
    props = r.props(CONNECT) if level == V5 else {}
    client_id = r.text()
    will = None
    if has_will:
        will_props = r.props(-1) if level == V5 else {}
        will = Will(r.text(), r.binary(), will_qos, will_retain, will_props)
    username = r.text() if flags & 0x80 else None
    password = r.binary() if flags & 0x40 else None
    r.done()
    return Connect(level, client_id, bool(flags & 0x02), keepalive, username, password, will, props)


def _publish(r: _Reader, flags: int, version: int) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise Malformed("PUBLISH with QoS 3")
    if qos == 0 and flags & 0x08:
        raise Malformed("DUP set on a QoS 0 PUBLISH")
    topic = r.text()
    if not topic or "+" in topic or "#" in topic:
        raise Malformed("a topic name is empty or holds a wildcard", TOPIC_NAME_INVALID)
    packet_id = _packet_id(r) if qos else None
    props = r.props(PUBLISH) if version == V5 else {}
    if "topic_alias" in props:
        raise Malformed("topic aliases are not accepted (Topic Alias Maximum is 0)")
    return Publish(
        topic, r.take(r.left), qos, bool(flags & 0x01), bool(flags & 0x08), packet_id, props
    )


def _packet_id(r: _Reader) -> int:
    value = r.u16()
    if value == 0:
        raise Malformed("packet identifier 0")
    return value


def _subscribe(r: _Reader, version: int) -> Subscribe:
    packet_id = _packet_id(r)
    props = r.props(SUBSCRIBE) if version == V5 else {}
    items: list[SubscribeItem] = []
    while r.left:
        topic = r.text()
        options = r.u8()
        reserved = 0xC0 if version == V5 else 0xFC
        qos, handling = options & 0x03, (options >> 4) & 0x03
        if options & reserved or qos == 3 or handling == 3:
            raise Malformed("invalid subscription options")
        items.append(
            SubscribeItem(topic, qos, bool(options & 0x04), bool(options & 0x08), handling)
        )
    if not items:
        raise Malformed("SUBSCRIBE without a topic filter", PROTOCOL_ERROR)
    return Subscribe(packet_id, items, props)


def _unsubscribe(r: _Reader, version: int) -> Unsubscribe:
    packet_id = _packet_id(r)
    if version == V5:
        r.props(UNSUBSCRIBE)
    topics = []
    while r.left:
        topics.append(r.text())
    if not topics:
        raise Malformed("UNSUBSCRIBE without a topic filter", PROTOCOL_ERROR)
    return Unsubscribe(packet_id, topics)


def _ack(r: _Reader, kind: int, version: int) -> Ack:
    packet_id = _packet_id(r)
    reason = SUCCESS
    if version == V5 and r.left:
        reason = r.u8()
        if r.left:
            r.props(kind)
    r.done()
    return Ack(kind, packet_id, reason)


def _control(r: _Reader, kind: int, version: int) -> Control:
    reason = SUCCESS
    if kind == DISCONNECT and version == V5 and r.left:
        reason = r.u8()
        if r.left:
            r.props(DISCONNECT)
    r.done()
    return Control(kind, reason)


# fixed-header flags each packet type must carry (3.1.1 §2.2.2, 5 §2.1.3); PUBLISH varies
_FLAGS = {
    CONNECT: 0,
    PUBACK: 0,
    PUBREC: 0,
    PUBREL: 2,
    PUBCOMP: 0,
    SUBSCRIBE: 2,
    UNSUBSCRIBE: 2,
    PINGREQ: 0,
    DISCONNECT: 0,
    AUTH: 0,
}


def decode(first: int, body: bytes | memoryview, version: int | None) -> Packet:
    """One packet from its first byte and its body (after the remaining length).
    `version` is None until the CONNECT has been read."""
    kind, flags = first >> 4, first & 0x0F
    if kind not in _FLAGS and kind != PUBLISH:
        raise Malformed(f"packet type {kind} is not sent by clients", PROTOCOL_ERROR)
    if kind != PUBLISH and flags != _FLAGS[kind]:
        raise Malformed(f"wrong fixed-header flags on packet type {kind}")
    r = _Reader(body)
    if version is None:
        if kind != CONNECT:
            raise Malformed("the first packet must be CONNECT", PROTOCOL_ERROR)
        return _connect(r)
    if kind == CONNECT:
        raise Malformed("a second CONNECT", PROTOCOL_ERROR)
    if kind == AUTH and version == V311:
        raise Malformed("AUTH is an MQTT 5 packet", PROTOCOL_ERROR)
    if kind == PUBLISH:
        return _publish(r, flags, version)
    if kind == SUBSCRIBE:
        return _subscribe(r, version)
    if kind == UNSUBSCRIBE:
        return _unsubscribe(r, version)
    if kind in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        return _ack(r, kind, version)
    return _control(r, kind, version)


class Framer:
    """Cuts a byte stream into packets: WebSocket messages need not align with packets
    (MQTT 5 §6), so bytes are kept until a whole packet is there. A remaining length over
    `limit` is refused as soon as its header is read, before the body is buffered."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.version: int | None = None

    def feed(self, data: bytes) -> list[Packet]:
        self.buffer += data
        out: list[Packet] = []
        while (header := self._header()) is not None:
            first, start, length = header
            if len(self.buffer) < start + length:
                break
            body = bytes(self.buffer[start : start + length])
            del self.buffer[: start + length]
            packet = decode(first, body, self.version)
            if isinstance(packet, Connect):
                self.version = packet.version
            out.append(packet)
        return out

    def _header(self) -> tuple[int, int, int] | None:
        if len(self.buffer) < 2:
            return None
        length, shift = 0, 0
        for i in range(1, 5):
            if i >= len(self.buffer):
                return None
            byte = self.buffer[i]
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if length + i + 1 > self.limit:
                    raise Malformed(f"a packet of {length} bytes", PACKET_TOO_LARGE)
                return self.buffer[0], i + 1, length
            shift += 7
        raise Malformed("a remaining length longer than four bytes")


# -- encoding ---------------------------------------------------------------------------
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
