"""The SensorThings topics a WebSocket client uses, and the broker topics behind them.

On a tenant's socket (`/{tenant}/mqtt`) topics are the standard, unprefixed ones of STA 1.1
§14 with the tenant's own integer ids; each maps to the tenant's namespaced broker topic
(`<prefix>v1.1/...`, the prefix of `tenants.<t>.sensorthings.mqtt.topic_prefix`):

- an entity set: `v1.1/Observations` (created entities);
- an entity: `v1.1/Things(1)` (updates), and a property of it: `v1.1/Things(1)/name`;
- the related collection of an entity: `v1.1/Datastreams(7)/Observations`.

On the federated socket (`/mqtt`) ids are the federated view's `tenant:id` strings, quoted
as in its URLs (`v1.1/Datastreams('leipzig:7')/Observations`) or bare as a client that
pastes the `@iot.id` writes them (`v1.1/Datastreams(leipzig:7)/Observations`); a plain
number names no entity there and is refused. An entity-set topic there means every
tenant's set, and what arrives carries federated ids and links (`federate`), as an HTTP
read of the federated view would.

Wildcards, `$select` and `$expand` in topics, and deeper paths are refused: the gateway
publishes nothing on them.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from gateway.errors import GatewayError
from gateway.sensorthings.paths import ResourcePath, format_key, parse_path

VERSION = "v1.1"
CREATE = re.compile(
    r"^(?:(?:Datastreams|MultiDatastreams|FeaturesOfInterest)\(\d{1,19}\)/)?Observations$"
)
_BARE_FEDERATED_ID = re.compile(r"\(([a-z0-9][a-z0-9-]{0,62}):(\d{1,19})\)")
_LINK_ID = re.compile(r"\((\d{1,19})\)")


class Refused(Exception):
    """A topic the gateway never publishes on (or the client may not read)."""


def sta_path(topic: str) -> ResourcePath:
    """The resource a subscription topic names, when it is one the gateway publishes on."""
    if not topic.startswith(VERSION + "/") or "+" in topic or "#" in topic or "?" in topic:
        raise Refused(topic)
    try:
        path = parse_path(topic[len(VERSION) + 1 :])
    except GatewayError:
        raise Refused(topic) from None
    if path.action or path.ref or path.value or not path.segments or len(path.segments) > 2:
        raise Refused(topic)
    first = path.segments[0]
    if len(path.segments) == 1:
        if first.id is None and path.member is not None:
            raise Refused(topic)
        return path
    second = path.segments[1]  # Datastreams(7)/Observations: a related collection
    if first.id is None or second.id is not None or path.member or not second.is_collection:
        raise Refused(topic)
    return path


def tenant_topic(topic: str) -> str:
    """The tenant-local path (`Datastreams(7)/Observations`) of a topic on a tenant socket."""
    path = sta_path(topic)
    if any(seg.id is not None and not isinstance(seg.id, int) for seg in path.segments):
        raise Refused(topic)
    return path.text()


def federated_topic(topic: str, tenants: list[str]) -> list[tuple[str, str]]:
    """(tenant, tenant-local path) pairs a topic on the federated socket stands for."""
    path = sta_path(_BARE_FEDERATED_ID.sub(r"('\1:\2')", topic))
    owners: set[str] = set()
    segments = []
    for seg in path.segments:
        if seg.id is None:
            segments.append(seg)
            continue
        tenant, _, inner = str(seg.id).partition(":")
        if isinstance(seg.id, int) or not inner.isdigit():
            raise Refused(topic)
        owners.add(tenant)
        segments.append(type(seg)(seg.name, seg.type, int(inner), seg.rel))
    local = ResourcePath(tuple(segments), member=path.member).text()
    if not owners:
        return [(t, local) for t in tenants]
    owner = owners.pop()
    if owners or owner not in tenants:  # one entity lives in one tenant
        raise Refused(topic)
    return [(owner, local)]


def federate(payload: bytes, tenant: str, root: str) -> bytes:
    """A tenant's notification as the federated view shows the entity: `@iot.id` becomes
    'tenant:id', each link points below the federated root `root` with such ids."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload
    if not isinstance(doc, dict):
        return payload
    return orjson.dumps({k: _federated_value(k, v, tenant, root) for k, v in doc.items()})


def _federated_value(key: str, value: Any, tenant: str, root: str) -> Any:
    if key == "@iot.id" and isinstance(value, int):
        return f"{tenant}:{value}"
    if isinstance(value, str) and key.endswith("Link"):
        _, found, rest = value.partition(f"/sta/{VERSION}/")
        if found:
            rest = _LINK_ID.sub(lambda m: f"({format_key(f'{tenant}:{m.group(1)}')})", rest)
            return f"{root}/{rest}"
    return value
