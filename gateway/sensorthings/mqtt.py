"""The bridge between the embedded stores and an MQTT broker (Mosquitto), MQTT 5.

Notifications: after a write commits, every created entity is published as its JSON on
the topics the standard defines, below the tenant's prefix (default `<tenant>/`):
`v1.1/Observations`, `v1.1/Observations(id)`, and the collection of each parent it belongs
to, e.g. `v1.1/Datastreams(7)/Observations` and `v1.1/FeaturesOfInterest(3)/Observations`;
an updated entity on `v1.1/Things(1)` and on each property topic (`v1.1/Things(1)/name`).

Creates: a JSON Observation published to `v1.1/Observations` or
`v1.1/Datastreams(id)/Observations` (also `MultiDatastreams(id)`, `FeaturesOfInterest(id)`)
is created as if POSTed. Who may: with `mqtt.anonymous_writes` anyone who can publish on
the broker (its ACL is the guard); otherwise the publisher sends the tenant's API key as
the MQTT 5 user property `api-key`. Refused or invalid messages are logged (never the key)
and, when the publisher set an MQTT 5 response topic, answered there with the STA error;
accepted ones are answered there with the new entity's selfLink.

Our own notifications carry the user property `twinbridge=notification` and are never
taken for creates; creates are read through a shared subscription (`$share/twinbridge/…`)
so that with several workers each message is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import aiomqtt
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.access.audit import audit
from gateway.access.policy import Access
from gateway.errors import GatewayError
from gateway.sensorthings.auth import mqtt_writer
from gateway.sensorthings.config import MqttBroker
from gateway.sensorthings.encode import Links
from gateway.sensorthings.errors import Forbidden, error_body
from gateway.sensorthings.model import EntityType, inverse, target
from gateway.sensorthings.paths import parse_path
from gateway.sensorthings.ws.topics import CREATE

log = logging.getLogger("twinbridge.sensorthings.mqtt")
VERSION = "v1.1"
MARK = ("twinbridge", "notification")
SHARE = "$share/twinbridge/"


def _user_properties(message: aiomqtt.Message) -> dict[str, str]:
    props = getattr(message.properties, "UserProperty", None) or []
    return {k: v for k, v in props}


def broker_client(broker: MqttBroker, name: str) -> aiomqtt.Client:
    """A client of the configured broker (MQTT 5) under an identifier unique to this
    connection: the bridge and the WebSocket hub each keep one per worker."""
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=f"{name}-{uuid.uuid4().hex[:12]}",
        protocol=aiomqtt.ProtocolVersion.V5,
    )


class MqttBridge:
    def __init__(
        self,
        broker: MqttBroker,
        services: dict[str, Any],
        base_url: str | None,
        policies: Mapping[str, Access] | None = None,
    ) -> None:
        self.broker = broker
        self.services = services
        self.policies = policies or {}  # the tenants' access policies (keys, tokens)
        self.base_url = base_url
        self.client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.prefixes = {
            t: self.topic_prefix(t, s) for t, s in services.items() if hasattr(s, "store")
        }
        for tenant in self.prefixes:
            if services[tenant].cfg.mqtt.publish:
                services[tenant].notifier = self.announce

    @staticmethod
    def topic_prefix(tenant: str, service: Any) -> str:
        prefix = service.cfg.mqtt.topic_prefix
        return f"{tenant}/" if prefix is None else prefix

    @property
    def endpoint(self) -> str:
        return self.broker.public_url or f"mqtt://{self.broker.host}:{self.broker.port}"

    def endpoint_for(self, tenant: str) -> tuple[str, bool, bool, str] | None:
        """(endpoint, publishes notifications, accepts creates, topic prefix) of a tenant."""
        if tenant not in self.prefixes:
            return None
        cfg = self.services[tenant].cfg.mqtt
        return self.endpoint, cfg.publish, cfg.create, self.prefixes[tenant]

    async def start(self, wait: float = 3.0) -> None:
        self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), wait)
        if not self.connected.is_set():
            log.warning(
                "MQTT broker %s not reachable yet; retrying in the background", self.endpoint
            )

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
                log.warning("MQTT broker %s: %s; reconnecting in %.1f s", self.endpoint, e, delay)
            self.client = None
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _session(self) -> None:
        b = self.broker
        async with broker_client(b, "twinbridge") as client:
            for tenant, prefix in self.prefixes.items():
                if self.services[tenant].cfg.mqtt.create:
                    await client.subscribe(f"{SHARE}{prefix}{VERSION}/Observations", qos=1)
                    await client.subscribe(f"{SHARE}{prefix}{VERSION}/+/Observations", qos=1)
            self.client = client
            self.connected.set()
            log.info("MQTT broker %s connected", self.endpoint)
            async for message in client.messages:
                await self._on_message(message)

    # -- creates ----------------------------------------------------------------------
    def _tenant_of(self, topic: str) -> tuple[str, str] | None:
        for tenant, prefix in sorted(self.prefixes.items(), key=lambda kv: -len(kv[1])):
            head = f"{prefix}{VERSION}/"
            if topic.startswith(head):
                return tenant, topic[len(head) :]
        return None

    async def _on_message(self, message: aiomqtt.Message) -> None:
        user = _user_properties(message)
        if user.get(MARK[0]) == MARK[1]:
            return
        found = self._tenant_of(message.topic.value)
        if found is None or not CREATE.match(found[1]):
            return
        tenant, rest = found
        service = self.services[tenant]
        reply = getattr(message.properties, "ResponseTopic", None)
        attempted = False
        try:
            writer = mqtt_writer(
                user.get("api-key"), service.api_key_env, self.policies.get(tenant)
            )
            if writer is None and not service.cfg.mqtt.anonymous_writes:
                raise Forbidden(
                    "an MQTT create needs the tenant's API key (user property 'api-key')"
                )
            attempted = True
            body = (
                orjson.loads(message.payload) if isinstance(message.payload, bytes | str) else None
            )
            created = await service.create(parse_path(rest), body, self._links(tenant, service))
            answer: dict[str, Any] = {"@iot.selfLink": created.doc["@iot.selfLink"]}
            audit(writer, "create", message.topic.value, f"{tenant}/sta", "201 created")
        except (GatewayError, orjson.JSONDecodeError) as e:
            status = e.status if isinstance(e, GatewayError) else 400
            text = e.description if isinstance(e, GatewayError) else "the payload is not JSON"
            log.warning(
                "tenant %s: MQTT create on %s refused: %s", tenant, message.topic.value, text
            )
            if attempted:
                audit(writer, "create", message.topic.value, f"{tenant}/sta", f"{status} refused")
            answer = error_body(status, text)
        if reply:
            await self._publish(reply, answer)

    def _links(self, tenant: str, service: Any) -> Links:
        if service.last_links is not None:
            return service.last_links
        return Links(f"{(self.base_url or 'http://localhost').rstrip('/')}/{tenant}/sta/{VERSION}")

    # -- notifications ----------------------------------------------------------------
    async def announce(
        self,
        service: Any,
        notices: list[tuple[EntityType, Any, dict]],
        created: bool,
        extra: list[tuple[str, dict]],
    ) -> None:
        prefix = self.prefixes[service.tenant] + VERSION
        for etype, row, doc in notices:
            for topic, payload in self.topics(prefix, etype, row, doc, created):
                await self._publish(topic, payload)
        for topic, payload in extra:
            await self._publish(f"{prefix}/{topic}", payload)

    @staticmethod
    def topics(
        prefix: str, etype: EntityType, row: Any, doc: dict, created: bool
    ) -> list[tuple[str, Any]]:
        own = f"{prefix}/{etype.plural}({row[0]})"
        if not created:
            props = [
                (f"{own}/{p.name}", {p.name: doc[p.name]}) for p in etype.props if p.name in doc
            ]
            return [(own, doc), *props]
        out = [(f"{prefix}/{etype.plural}", doc), (own, doc)]
        for rel in etype.rels:
            if not rel.fk_here or rel.fk is None:
                continue
            parent = row[etype.column_index[rel.fk]]
            back = inverse(etype, rel)
            if parent is not None and back is not None:
                out.append((f"{prefix}/{target(rel).plural}({parent})/{back.name}", doc))
        return out

    async def _publish(self, topic: str, payload: Any) -> None:
        client = self.client
        if client is None:
            log.debug("MQTT not connected; dropped a message for %s", topic)
            return
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [MARK]
        try:
            await client.publish(topic, orjson.dumps(payload), qos=0, properties=props)
        except aiomqtt.MqttError as e:
            log.warning("MQTT publish to %s failed: %s", topic, e)
