"""One MQTT client on a WebSocket: the server's side of the protocol (MQTT 3.1.1 and 5).

Sessions live as long as the connection (CONNACK says no session present; MQTT 5 clients
are told Session Expiry 0): a client that reconnects subscribes again, which every STA
client does. There are no retained messages (MQTT 5: Retain Available 0), so every retain
handling is honoured trivially, and no wildcards (STA topics name one resource).

Delivery: the gateway is the publisher of its notifications, so a client gets them at the
QoS it was granted, 2 included, with the full PUBREC/PUBREL/PUBCOMP handshake. Outgoing
messages wait in a bounded queue; a client that falls too far behind is disconnected
rather than silently losing QoS 1/2 messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.sensorthings.config import WebSocketSettings
from gateway.sensorthings.ws import codec as c
from gateway.sensorthings.ws.hub import Hub, Interest

log = logging.getLogger("twinbridge.sensorthings.ws")
CONNECT_TIMEOUT = 10.0  # seconds from accepting the socket to the CONNECT
CLOSE_TIMEOUT = 2.0  # seconds a last DISCONNECT may take to go out
Receive = Callable[[float | None], Awaitable[bytes | None]]
Route = tuple[str, str, str | None]  # broker topic, tenant, federated root (or None)


class Door(Protocol):
    """What a session asks its endpoint (a tenant's or the federated one)."""

    def authenticate(self, key: str | None) -> int:
        """SUCCESS, or the CONNACK reason refusing the key."""
        ...

    def route(self, topic: str) -> list[Route] | int:
        """What a subscription stands for, or a SUBACK failure code."""
        ...

    async def create(self, topic: str, payload: bytes, key: str | None) -> tuple[int, str]:
        """An MQTT create: (reason code, reason string)."""
        ...


@dataclass
class Subscription:
    qos: int
    routes: list[tuple[str, Interest]]


class Closed(Exception):
    """Close the connection (after an optional MQTT 5 DISCONNECT with this reason)."""

    def __init__(self, reason: int | None = None, text: str = "") -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


class MqttSession:
    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        door: Door,
        hub: Hub,
        limits: WebSocketSettings,
        peer: str = "-",
    ) -> None:
        self._send_raw = send
        self.door, self.hub, self.limits, self.peer = door, hub, limits, peer
        self.framer = c.Framer(limits.max_packet_bytes)
        self.version = c.V311
        self.connected = False
        self.key: str | None = None
        self.will: c.Will | None = None
        self.keepalive: float | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.awaiting_release: set[int] = set()  # inbound QoS 2, PUBREC sent
        self.pending: dict[int, int] = {}  # outbound: packet id -> the acknowledgement awaited
        self.queue: asyncio.Queue[tuple[str, bytes, int]] = asyncio.Queue(limits.max_queued)
        self.inflight = asyncio.Semaphore(65_535)
        self.client_max_packet = 268_435_455
        self._lock = asyncio.Lock()
        self._next_id = 0
        self._writer: asyncio.Task[None] | None = None
        self._overflow = asyncio.Event()
        self._overflowed: asyncio.Future[bool] | None = None

    # -- the connection ------------------------------------------------------------------
    async def run(self, receive: Receive) -> None:
        graceful = False
        self._overflowed = asyncio.ensure_future(self._overflow.wait())
        try:
            graceful = await self._read_loop(receive)
        except Closed as e:
            await self._close_with(e)
        except c.Malformed as e:
            log.info("MQTT/WS %s: closing: %s", self.peer, e)
            if not self.connected and e.reason == c.UNSUPPORTED_VERSION:
                await self._send(c.connack(c.V311, c.UNSUPPORTED_VERSION))
            await self._close_with(Closed(e.reason, str(e)))
        except TimeoutError:
            await self._close_with(Closed(c.KEEPALIVE_TIMEOUT, "keep-alive expired"))
        finally:
            await self._cleanup(graceful)

    async def _read_loop(self, receive: Receive) -> bool:
        """True when the client said DISCONNECT (no will then)."""
        while True:
            timeout = self.keepalive if self.connected else CONNECT_TIMEOUT
            reader = asyncio.ensure_future(receive(timeout))
            done, _ = await asyncio.wait(
                {reader, self._overflowed}, return_when=asyncio.FIRST_COMPLETED
            )
            if reader not in done:
                reader.cancel()
                raise Closed(c.QUOTA_EXCEEDED, "the client does not keep up with its messages")
            data = reader.result()
            if data is None:
                return False
            for packet in self.framer.feed(data):
                if await self._handle(packet):
                    return True

    async def _close_with(self, e: Closed) -> None:
        await self._stop_writer()  # a writer stuck on a slow client holds the send lock
        if self.connected and self.version == c.V5 and e.reason is not None:
            with contextlib.suppress(Exception):  # TimeoutError: the client takes no bytes
                await asyncio.wait_for(self._send(c.disconnect(e.reason, e.text)), CLOSE_TIMEOUT)

    async def _stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            self._writer = None

    async def _cleanup(self, graceful: bool) -> None:
        if self._overflowed is not None:
            self._overflowed.cancel()
        await self._stop_writer()
        for sub in self.subscriptions.values():
            for broker_topic, interest in sub.routes:
                await self.hub.remove(broker_topic, interest)
        self.subscriptions.clear()
        if self.connected and not graceful and self.will is not None:
            will = self.will
            with contextlib.suppress(Exception):
                await self.door.create(will.topic, will.payload, self.key)

    async def _send(self, data: bytes) -> None:
        async with self._lock:
            await self._send_raw(data)

    # -- incoming packets ----------------------------------------------------------------
    async def _handle(self, packet: c.Packet) -> bool:
        if isinstance(packet, c.Connect):
            await self._on_connect(packet)
        elif isinstance(packet, c.Publish):
            await self._on_publish(packet)
        elif isinstance(packet, c.Subscribe):
            await self._on_subscribe(packet)
        elif isinstance(packet, c.Unsubscribe):
            await self._on_unsubscribe(packet)
        elif isinstance(packet, c.Ack):
            await self._on_ack(packet)
        elif packet.kind == c.PINGREQ:
            await self._send(c.pingresp())
        elif packet.kind == c.DISCONNECT:
            if packet.reason == c.DISCONNECT_WITH_WILL:
                raise Closed()
            return True
        else:  # AUTH: no enhanced authentication here
            raise Closed(c.PROTOCOL_ERROR, "enhanced authentication is not supported")
        return False

    async def _on_connect(self, p: c.Connect) -> None:
        self.version = p.version
        if p.props.get("receive_maximum") == 0 or p.props.get("maximum_packet_size") == 0:
            raise c.Malformed("Receive Maximum or Maximum Packet Size of 0", c.PROTOCOL_ERROR)
        client_id = p.client_id
        if not client_id and p.version == c.V311 and not p.clean:
            await self._send(c.connack(p.version, c.IDENTIFIER_REJECTED))
            raise Closed()
        props: dict[int, object] = {}
        if not client_id:
            client_id = f"tb-{uuid.uuid4().hex[:16]}"
            props[0x12] = client_id  # Assigned Client Identifier
        key = p.props.get("user") and dict(p.props["user"]).get("api-key")
        if p.password is not None:
            key = p.password.decode("utf-8", "replace")
        reason = self.door.authenticate(key or None)
        if reason != c.SUCCESS:
            await self._send(c.connack(p.version, reason))
            raise Closed()
        self.key = key or None
        self.will = p.will
        self.keepalive = self._keepalive(p, props)
        if p.version == c.V5:
            self.inflight = asyncio.Semaphore(p.props.get("receive_maximum", 65_535))
            self.client_max_packet = p.props.get("maximum_packet_size", self.client_max_packet)
            if p.props.get("session_expiry"):
                props[0x11] = 0  # Session Expiry Interval: the session ends with the socket
            props.update(self._capabilities())
        self.connected = True
        await self._send(c.connack(p.version, c.SUCCESS, props))
        self._writer = asyncio.create_task(self._write_loop())
        log.info("MQTT/WS %s: client %s connected (MQTT %s)", self.peer, client_id, p.version)

    def _keepalive(self, p: c.Connect, props: dict[int, object]) -> float | None:
        seconds = p.keepalive
        if p.version == c.V5 and (seconds == 0 or seconds > self.limits.max_keepalive):
            seconds = self.limits.max_keepalive
            props[0x13] = seconds  # Server Keep Alive
        return seconds * 1.5 if seconds else None

    def _capabilities(self) -> dict[int, object]:
        return {
            0x21: self.limits.max_inflight,
            0x25: 0,  # no retained messages
            0x27: self.limits.max_packet_bytes,
            0x28: 0,  # no wildcard subscriptions
            0x29: 0,  # no subscription identifiers
            0x2A: 0,  # no shared subscriptions
        }

    async def _on_subscribe(self, p: c.Subscribe) -> None:
        if "subscription_id" in p.props:
            raise Closed(
                c.SUBSCRIPTION_IDS_UNSUPPORTED, "subscription identifiers are not supported"
            )
        codes = [await self._subscribe_one(item) for item in p.items]
        await self._send(c.suback(self.version, p.packet_id, codes))

    async def _subscribe_one(self, item: c.SubscribeItem) -> int:
        if len(item.topic) > self.limits.max_topic_length:
            return c.TOPIC_FILTER_INVALID
        if "+" in item.topic or "#" in item.topic:
            return c.WILDCARDS_UNSUPPORTED
        old = self.subscriptions.pop(item.topic, None)
        if old is None and len(self.subscriptions) >= self.limits.max_subscriptions:
            return c.QUOTA_EXCEEDED
        routes = self.door.route(item.topic)
        if isinstance(routes, int):
            if old is not None:
                self.subscriptions[item.topic] = old
            return routes
        interests = [
            (topic, Interest(self, item.topic, item.qos, tenant, root))
            for topic, tenant, root in routes
        ]
        for broker_topic, interest in interests:
            await self.hub.add(broker_topic, interest)
        if old is not None:  # a repeated SUBSCRIBE replaces the subscription
            for broker_topic, interest in old.routes:
                await self.hub.remove(broker_topic, interest)
        self.subscriptions[item.topic] = Subscription(item.qos, interests)
        return item.qos

    async def _on_unsubscribe(self, p: c.Unsubscribe) -> None:
        codes = []
        for topic in p.topics:
            sub = self.subscriptions.pop(topic, None)
            codes.append(c.SUCCESS if sub else c.NO_SUBSCRIPTION)
            for broker_topic, interest in sub.routes if sub else ():
                await self.hub.remove(broker_topic, interest)
        await self._send(c.unsuback(self.version, p.packet_id, codes))

    async def _on_publish(self, p: c.Publish) -> None:
        if len(p.topic) > self.limits.max_topic_length:
            raise Closed(c.TOPIC_NAME_INVALID, "the topic is too long")
        if p.retain and self.version == c.V5:
            raise Closed(c.RETAIN_UNSUPPORTED, "retained messages are not supported")
        if p.qos == 2 and p.packet_id in self.awaiting_release:
            await self._send(c.ack(c.PUBREC, self.version, p.packet_id))  # a duplicate
            return
        if p.qos == 2 and len(self.awaiting_release) >= self.limits.max_inflight:
            raise Closed(c.RECEIVE_MAXIMUM_EXCEEDED, "too many unreleased QoS 2 messages")
        user = dict(p.props.get("user", []))
        reason, text = await self.door.create(p.topic, p.payload, user.get("api-key") or self.key)
        if reason == c.NOT_AUTHORIZED and self.version == c.V311:
            raise Closed()  # 3.1.1 §3.3.5: no negative acknowledgement; close instead
        if reason >= 0x80:
            log.info("MQTT/WS %s: publish to %s refused: %s", self.peer, p.topic, text)
        if p.qos == 1:
            await self._send(c.ack(c.PUBACK, self.version, p.packet_id or 0, reason, text))
        elif p.qos == 2:
            if reason < 0x80:
                self.awaiting_release.add(p.packet_id or 0)
            await self._send(c.ack(c.PUBREC, self.version, p.packet_id or 0, reason, text))

    async def _on_ack(self, p: c.Ack) -> None:
        if p.kind == c.PUBREL:
            known = p.packet_id in self.awaiting_release
            self.awaiting_release.discard(p.packet_id)
            reason = c.SUCCESS if known else c.PACKET_ID_NOT_FOUND
            await self._send(c.ack(c.PUBCOMP, self.version, p.packet_id, reason))
            return
        stage = self.pending.get(p.packet_id)
        if stage is None:
            return  # an acknowledgement of nothing in flight: ignored
        if p.kind == c.PUBREC == stage and p.reason < 0x80:
            self.pending[p.packet_id] = c.PUBCOMP
            await self._send(c.ack(c.PUBREL, self.version, p.packet_id))
        elif p.kind == stage:  # PUBACK, PUBCOMP, or a PUBREC refusing the message
            del self.pending[p.packet_id]
            self.inflight.release()

    # -- outgoing messages ---------------------------------------------------------------
    def deliver(self, topic: str, payload: bytes, qos: int) -> None:
        """Called by the hub; never blocks."""
        if not self.connected or len(payload) + len(topic) + 64 > self.client_max_packet:
            return  # MQTT 5 §3.1.2.11.4: never send a client more than it accepts
        try:
            self.queue.put_nowait((topic, payload, qos))
        except asyncio.QueueFull:
            self._overflow.set()

    async def _write_loop(self) -> None:
        while True:
            topic, payload, qos = await self.queue.get()
            if qos == 0:
                await self._send(c.publish(self.version, topic, payload, 0, None))
                continue
            await self.inflight.acquire()  # released by the last acknowledgement
            packet_id = self._packet_id()
            self.pending[packet_id] = c.PUBACK if qos == 1 else c.PUBREC
            await self._send(c.publish(self.version, topic, payload, qos, packet_id))

    def _packet_id(self) -> int:
        for _ in range(65_535):
            self._next_id = self._next_id % 65_535 + 1
            if self._next_id not in self.pending:
                return self._next_id
        raise Closed(c.UNSPECIFIED, "no free packet identifier")
