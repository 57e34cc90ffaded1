"""The MQTT packets a server reads, the reason codes it answers with, and `Malformed`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)
V311, V5 = 4, 5

# reason codes (MQTT 5 §2.4); the 3.1.1 CONNACK return codes are mapped in `connack`
SUCCESS = 0x00
DISCONNECT_WITH_WILL = 0x04
NO_SUBSCRIPTION = 0x11
UNSPECIFIED = 0x80
MALFORMED = 0x81
PROTOCOL_ERROR = 0x82
IMPLEMENTATION_ERROR = 0x83
UNSUPPORTED_VERSION = 0x84
IDENTIFIER_REJECTED = 0x85
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
RETAIN_UNSUPPORTED = 0x9A
SUBSCRIPTION_IDS_UNSUPPORTED = 0xA1
WILDCARDS_UNSUPPORTED = 0xA2


class Malformed(Exception):
    """A packet the specification calls malformed or a protocol error; `reason` is the
    MQTT 5 reason code of the DISCONNECT that may precede closing."""

    def __init__(self, message: str, reason: int = MALFORMED) -> None:
        super().__init__(message)
        self.reason = reason


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
