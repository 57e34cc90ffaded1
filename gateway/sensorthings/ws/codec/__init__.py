"""The server side of the MQTT 3.1.1 and 5.0 wire format: the packets a client sends are
decoded, the packets a server sends are encoded. Nothing else (no sessions, no topics).

Why our own: amqtt (the maintained Python broker) has a codec, but it speaks MQTT 3.1.1
only and is bound to its own broker's stream adapters; paho and aiomqtt are client-side.
This module is small, has no I/O and rejects what the specifications call malformed
(MQTT 3.1.1 §1.5, §2, §3; MQTT 5 §1.5, §2, §3): a wrong fixed-header flag, a remaining
length over four bytes, invalid UTF-8 or U+0000 in a string, a duplicated property, a
property a packet may not carry, a reserved bit set, QoS 3, bytes left over. Every such
packet raises `Malformed`; the caller closes the connection.

`packets.py` the packet types and reason codes, `decode.py` reading (`Framer` cuts a byte
stream into packets), `encode.py` writing.
"""

from gateway.sensorthings.ws.codec.decode import Framer, decode
from gateway.sensorthings.ws.codec.encode import (
    ack,
    connack,
    disconnect,
    pingresp,
    publish,
    suback,
    unsuback,
)
from gateway.sensorthings.ws.codec.packets import *  # noqa: F403  (the vocabulary)

__all__ = [
    "Framer",
    "ack",
    "connack",
    "decode",
    "disconnect",
    "pingresp",
    "publish",
    "suback",
    "unsuback",
]
