"""The WebSocket routes `/{tenant}/mqtt` and `/mqtt` and the policy behind each (a door):
who may connect, what a subscription stands for, who may create by publishing.

A tenant's door serves tenants with an embedded store (their notifications are ours to
deliver); an upstream tenant's updates come from its own server, so its path is refused.
Anyone may subscribe to the STA topics (reading is open, as over HTTP); publishing is an
MQTT create and needs the tenant's API key, sent as the MQTT password (any user name) or,
in MQTT 5, as the user property `api-key` of the CONNECT or of the PUBLISH. On the
WebSocket, `mqtt.anonymous_writes` does not apply: no broker ACL stands guard there.
The federated door is read-only, like the federated HTTP view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from gateway.access.audit import audit
from gateway.access.policy import Access
from gateway.config import ServerSettings
from gateway.errors import GatewayError
from gateway.features.links import base_url
from gateway.sensorthings.auth import SENSORTHINGS, key_matches, mqtt_principal, mqtt_writer
from gateway.sensorthings.config import MqttBroker
from gateway.sensorthings.encode import Links
from gateway.sensorthings.errors import Forbidden
from gateway.sensorthings.paths import parse_path
from gateway.sensorthings.ws import codec as c
from gateway.sensorthings.ws.hub import BrokerHub, Hub, LocalHub
from gateway.sensorthings.ws.session import MqttSession, Route
from gateway.sensorthings.ws.topics import CREATE, VERSION, Refused, federated_topic, tenant_topic

log = logging.getLogger("twinbridge.sensorthings.ws")
SUBPROTOCOL = "mqtt"


class TenantDoor:
    """`policy`: the tenant's access policy. A closed tenant (`public_read: false`) lets a
    client subscribe only with a key or token that reads `sensorthings`."""

    def __init__(
        self, tenant: str, service: Any, hub: Hub, links: Links, policy: Access | None = None
    ) -> None:
        self.tenant, self.service, self.hub, self.links = tenant, service, hub, links
        self.policy = policy
        self.reader = policy is None or policy.public_read

    def authenticate(self, key: str | None) -> int:
        if key is None:
            return c.SUCCESS if self.reader else c.NOT_AUTHORIZED  # anonymous: may read
        principal = mqtt_principal(key, self.policy)
        if principal is not None:
            self.reader = self.reader or principal.allows("read", SENSORTHINGS)
            return c.SUCCESS
        try:
            return c.SUCCESS if key_matches(key, self.service.api_key_env) else c.BAD_CREDENTIALS
        except Forbidden:  # a read-only tenant takes no key
            return c.NOT_AUTHORIZED

    def route(self, topic: str) -> list[Route] | int:
        if self.tenant not in self.hub.prefixes or not self.reader:
            return c.NOT_AUTHORIZED  # this tenant announces nothing (to this client)
        try:
            local = tenant_topic(topic)
        except Refused:
            return c.NOT_AUTHORIZED
        return [(self.hub.broker_topic(self.tenant, local), self.tenant, None)]

    async def create(self, topic: str, payload: bytes, key: str | None) -> tuple[int, str]:
        rest = topic.removeprefix(VERSION + "/")
        if rest == topic or not CREATE.match(rest) or not self.service.cfg.mqtt.create:
            return c.NOT_AUTHORIZED, (
                "MQTT creates go to v1.1/Observations or v1.1/Datastreams(id)/Observations"
            )
        writer = mqtt_writer(key, self.service.api_key_env, self.policy)
        if writer is None:
            return c.NOT_AUTHORIZED, (
                "an MQTT create needs the tenant's API key (MQTT password or user property "
                "'api-key')"
            )
        code, text = await self._create(rest, payload)
        result = "201 created" if code == c.SUCCESS else f"refused {text}"
        audit(writer, "create", f"/{self.tenant}/mqtt {topic}", f"{self.tenant}/sta", result)
        return code, text

    async def _create(self, rest: str, payload: bytes) -> tuple[int, str]:
        try:
            body = orjson.loads(payload)
            await self.service.create(parse_path(rest), body, self.links)
        except Forbidden as e:
            return c.NOT_AUTHORIZED, e.description
        except orjson.JSONDecodeError:
            return c.PAYLOAD_FORMAT_INVALID, "the payload is not JSON"
        except GatewayError as e:
            return (c.IMPLEMENTATION_ERROR if e.status < 500 else c.UNSPECIFIED), e.description
        return c.SUCCESS, ""


class FederatedDoor:
    """`closed`: tenants whose reading is not public; left out, as from the HTTP view."""

    def __init__(self, hub: Hub, root: str, closed: frozenset[str] = frozenset()) -> None:
        self.hub, self.root, self.closed = hub, root, closed

    def authenticate(self, key: str | None) -> int:
        return c.SUCCESS  # read-only: a key grants nothing more here

    def route(self, topic: str) -> list[Route] | int:
        try:
            pairs = federated_topic(topic, sorted(set(self.hub.prefixes) - self.closed))
        except Refused:
            return c.NOT_AUTHORIZED
        if not pairs:
            return c.NOT_AUTHORIZED
        return [(self.hub.broker_topic(t, local), t, self.root) for t, local in pairs]

    async def create(self, topic: str, payload: bytes, key: str | None) -> tuple[int, str]:
        return c.NOT_AUTHORIZED, "the federated view is read-only; publish on /{tenant}/mqtt"


def _policies(websocket: WebSocket) -> dict[str, Access]:
    return getattr(websocket.app.state, "access", {})


def http_root(websocket: WebSocket, server: ServerSettings) -> str:
    """The gateway's public HTTP root as seen by this WebSocket's client."""
    root = base_url(websocket, server)  # type: ignore[arg-type]
    if root.startswith("ws"):  # the socket's own scheme (ws, wss) when nothing overrides it
        root = "http" + root[2:]
    return root


def ws_endpoint(http_base: str, tenant: str | None) -> str:
    """`ws://host:port/{tenant}/mqtt` (wss behind https) for the root document."""
    return "ws" + http_base.removeprefix("http") + (f"/{tenant}/mqtt" if tenant else "/mqtt")


class MqttWebSockets:
    def __init__(self, server: ServerSettings, services: dict[str, Any]) -> None:
        self.server = server
        self.settings = server.sensorthings.websocket
        self.services = services
        self.hub: Hub | None = None
        self.connections = 0

    def routes(self) -> list[WebSocketRoute]:
        if not self.settings.enabled:
            return []
        return [
            WebSocketRoute("/mqtt", self.federated_socket),
            WebSocketRoute("/{tenant}/mqtt", self.tenant_socket),
        ]

    async def start(self, broker: MqttBroker | None) -> None:
        if not self.settings.enabled:
            return
        self.hub = BrokerHub(broker, self.services) if broker else LocalHub(self.services)
        await self.hub.start()

    async def stop(self) -> None:
        if self.hub is not None:
            await self.hub.stop()

    def offers(self, tenant: str | None) -> tuple[bool, bool]:
        """(receives updates, takes creates) on the socket of a tenant or the federated root."""
        if self.hub is None:
            return False, False
        if tenant is None:
            return bool(self.hub.prefixes), False
        service = self.services.get(tenant)
        if service is None or not hasattr(service, "store"):
            return False, False
        return tenant in self.hub.prefixes, service.cfg.mqtt.create and service.writable

    async def tenant_socket(self, websocket: WebSocket) -> None:
        tenant = websocket.path_params["tenant"]
        service = self.services.get(tenant)
        if self.hub is None or service is None or not hasattr(service, "store"):
            await websocket.close()  # before accepting: the client sees HTTP 403
            return
        links = Links(f"{http_root(websocket, self.server)}/{tenant}/sta/{VERSION}")
        policy = _policies(websocket).get(tenant)
        await self._serve(websocket, TenantDoor(tenant, service, self.hub, links, policy))

    async def federated_socket(self, websocket: WebSocket) -> None:
        if self.hub is None or not self.hub.prefixes:
            await websocket.close()
            return
        root = f"{http_root(websocket, self.server)}/sta/{VERSION}"
        closed = frozenset(t for t, p in _policies(websocket).items() if not p.public_read)
        await self._serve(websocket, FederatedDoor(self.hub, root, closed))

    async def _serve(self, websocket: WebSocket, door: Any) -> None:
        if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.close()  # MQTT 5 §6.0.0-3: the client must ask for "mqtt"
            return
        if self.connections >= self.settings.max_connections:
            log.warning("MQTT/WS: refused a connection (max_connections reached)")
            await websocket.close()
            return
        assert self.hub is not None
        self.connections += 1
        try:
            await self._accepted(websocket, door, self.hub)
        finally:
            self.connections -= 1

    async def _accepted(self, websocket: WebSocket, door: Any, hub: Hub) -> None:
        await websocket.accept(subprotocol=SUBPROTOCOL)
        peer = f"{websocket.client.host}:{websocket.client.port}" if websocket.client else "-"
        session = MqttSession(websocket.send_bytes, door, hub, self.settings, peer)

        async def receive(timeout: float | None) -> bytes | None:
            message = await asyncio.wait_for(websocket.receive(), timeout)
            if message["type"] == "websocket.disconnect":
                return None
            if message.get("bytes") is None:
                raise c.Malformed("a text frame (MQTT travels in binary frames)")
            return bytes(message["bytes"])

        try:
            await session.run(receive)
        except Exception as e:  # the peer went away mid-write: nothing left to answer
            log.debug("MQTT/WS %s: connection ended: %r", peer, e)
        with contextlib.suppress(Exception):
            await websocket.close()
