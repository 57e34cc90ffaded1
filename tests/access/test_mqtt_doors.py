"""The MQTT-over-WebSocket doors follow the tenant's access policy: a closed tenant takes
subscriptions only from a reader of `sensorthings`, an `access` writer may create (audited),
and the federated socket leaves closed tenants out."""

from __future__ import annotations

import asyncio
import hashlib
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.access import Access, TenantAccess
from gateway.sensorthings.encode import Links
from gateway.sensorthings.ws import codec as c
from gateway.sensorthings.ws.endpoint import FederatedDoor, TenantDoor

READER, WRITER = "mqtt-reader-1", "mqtt-writer-2"
TOPIC = "v1.1/Datastreams(1)/Observations"


class Hub:
    prefixes = {"closed": "closed/", "open": "open/"}

    def broker_topic(self, tenant: str, local: str) -> str:
        return f"{self.prefixes[tenant]}v1.1/{local}"


class Service:
    api_key_env = None  # no environment key: only the access block grants writes
    cfg = SimpleNamespace(mqtt=SimpleNamespace(create=True))

    def __init__(self) -> None:
        self.created: list[Any] = []

    async def create(self, path: Any, body: Any, links: Any) -> None:
        self.created.append(body)


def _policy(public_read: bool) -> Access:
    keys = [
        {"id": "reader", "sha256": hashlib.sha256(READER.encode()).hexdigest(), "scopes": ["read"]},
        {
            "id": "sensor-app",
            "sha256": hashlib.sha256(WRITER.encode()).hexdigest(),
            "scopes": ["write:sensorthings"],
        },
    ]
    access = TenantAccess.model_validate({"public_read": public_read, "api_keys": keys})
    return Access("closed", access)


def _door(public_read: bool = False) -> tuple[TenantDoor, Service]:
    service = Service()
    links = Links("http://gw/closed/sta/v1.1")
    return TenantDoor("closed", service, Hub(), links, _policy(public_read)), service  # type: ignore[arg-type]


def test_a_closed_tenant_takes_no_anonymous_subscriber() -> None:
    door, _ = _door()
    assert door.authenticate(None) == c.NOT_AUTHORIZED
    assert door.route(TOPIC) == c.NOT_AUTHORIZED


def test_a_reader_key_subscribes_to_a_closed_tenant() -> None:
    door, _ = _door()
    assert door.authenticate(READER) == c.SUCCESS
    assert door.route(TOPIC) == [(f"closed/{TOPIC}", "closed", None)]


def test_a_writer_without_read_connects_but_cannot_subscribe() -> None:
    door, _ = _door()
    assert door.authenticate(WRITER) == c.SUCCESS
    assert door.route(TOPIC) == c.NOT_AUTHORIZED


def test_an_unknown_key_is_bad_credentials_and_a_public_tenant_stays_open() -> None:
    door, _ = _door(public_read=True)
    assert door.authenticate("guess") == c.NOT_AUTHORIZED  # no env key: nothing to match
    assert door.authenticate(None) == c.SUCCESS
    assert door.route(TOPIC) != c.NOT_AUTHORIZED


def test_an_access_writer_creates_and_is_audited(caplog: pytest.LogCaptureFixture) -> None:
    door, service = _door()
    with caplog.at_level("INFO", logger="twinbridge.audit"):
        assert asyncio.run(door.create(TOPIC, b'{"result": 1}', WRITER)) == (c.SUCCESS, "")
        code, _ = asyncio.run(door.create(TOPIC, b'{"result": 2}', READER))
    assert code == c.NOT_AUTHORIZED
    assert service.created == [{"result": 1}]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "twinbridge.audit"]
    assert "principal=key:sensor-app" in line and WRITER not in line


def test_the_federated_socket_leaves_closed_tenants_out() -> None:
    door = FederatedDoor(Hub(), "http://gw/sta/v1.1", frozenset({"closed"}))  # type: ignore[arg-type]
    routes = door.route("v1.1/Observations")
    assert isinstance(routes, list) and [tenant for _, tenant, _ in routes] == ["open"]
