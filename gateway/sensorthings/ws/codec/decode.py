"""Reading what clients send: MQTT 3.1.1 §2-3 and MQTT 5 §2-3, with every check that
makes a packet malformed or a protocol error raising `Malformed`."""

from __future__ import annotations

import struct
from typing import Any

from gateway.sensorthings.ws.codec.packets import (
    AUTH,
    CONNECT,
    DISCONNECT,
    PACKET_TOO_LARGE,
    PINGREQ,
    PROTOCOL_ERROR,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    SUBSCRIBE,
    SUCCESS,
    TOPIC_NAME_INVALID,
    UNSUBSCRIBE,
    UNSUPPORTED_VERSION,
    V5,
    V311,
    Ack,
    Connect,
    Control,
    Malformed,
    Packet,
    Publish,
    Subscribe,
    SubscribeItem,
    Unsubscribe,
    Will,
)

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
