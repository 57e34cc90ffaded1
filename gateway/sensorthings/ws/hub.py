"""Where WebSocket subscribers get their messages: the hub keeps, per broker topic
(`<prefix>v1.1/Datastreams(7)/Observations`), the local subscriptions that want it.

- `BrokerHub` (a broker is configured): one aiomqtt connection per worker subscribes to a
  broker topic when its first local subscriber arrives and unsubscribes when the last one
  leaves; what the broker delivers reaches the subscribers. Every worker's notifications go
  through the broker, so a subscriber on one worker sees writes made on any worker. Only
  the gateway's own notifications (user property `twinbridge=notification`) are passed on,
  never what third parties publish on the broker.
- `LocalHub` (no broker, e.g. the demo): the embedded stores' notifications go straight to
  the hub, in process. Chosen over running amqtt on a loopback port because the socket
  side terminates MQTT itself anyway, so a broker would add a hop, a port, a dependency
  and a second MQTT implementation for nothing; the price is that, without a broker, a
  subscriber sees only the writes of its own worker (run one worker, or a broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt
import orjson

from gateway.sensorthings.config import MqttBroker
from gateway.sensorthings.mqtt import MARK, MqttBridge, broker_client
from gateway.sensorthings.ws.topics import VERSION, federate

log = logging.getLogger("twinbridge.sensorthings.ws")


class Sink(Protocol):
    def deliver(self, topic: str, payload: bytes, qos: int) -> None: ...


@dataclass(eq=False)
class Interest:
    """One subscription of one client, as seen from one broker topic."""

    sink: Sink
    topic: str  # as the client subscribed it
    qos: int
    tenant: str
    federated_root: str | None = None  # deliver with federated ids and links below it


class Hub:
    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes  # tenant -> topic prefix, for every tenant that notifies
        self.interest: dict[str, set[Interest]] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self.listened: dict[str, int] = {}  # tenant -> broker topics someone wants

    def broker_topic(self, tenant: str, local: str) -> str:
        return f"{self.prefixes[tenant]}{VERSION}/{local}"

    async def add(self, broker_topic: str, interest: Interest) -> None:
        """Returns once the topic is subscribed behind, for this and every later client of
        it, so that a client's SUBACK never comes before messages can flow."""
        found = self.interest.setdefault(broker_topic, set())
        found.add(interest)
        if len(found) == 1:
            self.listened[interest.tenant] = self.listened.get(interest.tenant, 0) + 1
            self._ready[broker_topic] = asyncio.ensure_future(self._subscribe(broker_topic))
        ready = self._ready.get(broker_topic)
        if ready is not None:
            await asyncio.shield(ready)

    async def remove(self, broker_topic: str, interest: Interest) -> None:
        found = self.interest.get(broker_topic)
        if found is None:
            return
        found.discard(interest)
        if not found:
            del self.interest[broker_topic]
            self.listened[interest.tenant] -= 1
            self._ready.pop(broker_topic, None)
            await self._unsubscribe(broker_topic)

    def dispatch(self, broker_topic: str, payload: bytes) -> None:
        federated: dict[tuple[str, str], bytes] = {}
        for interest in list(self.interest.get(broker_topic, ())):
            body = payload
            if interest.federated_root is not None:
                key = (interest.tenant, interest.federated_root)
                if key not in federated:
                    federated[key] = federate(payload, *key)
                body = federated[key]
            interest.sink.deliver(interest.topic, body, interest.qos)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _subscribe(self, topic: str) -> None:
        return None

    async def _unsubscribe(self, topic: str) -> None:
        return None


class LocalHub(Hub):
    """The embedded stores notify this hub directly (no broker)."""

    def __init__(self, services: dict[str, Any]) -> None:
        notifying = {
            t: s for t, s in services.items() if hasattr(s, "store") and s.cfg.mqtt.publish
        }
        super().__init__({t: MqttBridge.topic_prefix(t, s) for t, s in notifying.items()})
        for tenant, service in notifying.items():
            service.notifier = self.announce
            # without a subscriber a write costs nothing extra (no notices are read)
            service.listening = lambda t=tenant: self.listened.get(t, 0) > 0

    async def announce(
        self,
        service: Any,
        notices: list[tuple[Any, Any, dict]],
        created: bool,
        extra: list[tuple[str, dict]],
    ) -> None:
        prefix = self.prefixes[service.tenant] + VERSION
        topics = [(f"{prefix}/{topic}", doc) for topic, doc in extra]
        for etype, row, doc in notices:
            topics += MqttBridge.topics(prefix, etype, row, doc, created)
        for topic, payload in topics:
            if topic in self.interest:
                self.dispatch(topic, orjson.dumps(payload))


class BrokerHub(Hub):
    """One shared broker connection for all WebSocket subscribers of this worker."""

    def __init__(self, broker: MqttBroker, services: dict[str, Any]) -> None:
        notifying = {
            t: s for t, s in services.items() if hasattr(s, "store") and s.cfg.mqtt.publish
        }
        super().__init__({t: MqttBridge.topic_prefix(t, s) for t, s in notifying.items()})
        self.broker = broker
        self.client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 3.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as e:
                log.warning("WebSocket hub: broker %s: %s", self.broker.host, e)
            self.client = None
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _session(self) -> None:
        b = self.broker
        async with broker_client(b, "twinbridge-ws") as client:
            for topic in list(self.interest):  # what local clients wanted before (re)connecting
                await client.subscribe(topic, qos=0)
            self.client = client
            self.connected.set()
            async for message in client.messages:
                props = getattr(message.properties, "UserProperty", None) or []
                if MARK in [tuple(p) for p in props] and isinstance(message.payload, bytes):
                    self.dispatch(message.topic.value, message.payload)

    async def _subscribe(self, topic: str) -> None:
        if self.client is not None:
            with contextlib.suppress(aiomqtt.MqttError):  # resubscribed on reconnect
                await self.client.subscribe(topic, qos=0)

    async def _unsubscribe(self, topic: str) -> None:
        if self.client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self.client.unsubscribe(topic)
