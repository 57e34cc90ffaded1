"""The broker's memory: entities per tenant (`Fiware-Service`, lower-cased) and service
path (`Fiware-ServicePath`), kept in creation order, as Orion keeps them.

Service paths follow Orion's multitenancy rules: a query without the header reads `/#`
(every path), a create without it writes to `/`; `/a/#` is a subtree; a query may name up
to 10 comma-separated paths; a path has at most 10 levels of at most 50 characters of
letters, digits and `_`. The same id and type may live in two paths.

Attribute values are stored as sent, with their NGSI type (defaulted as the manual says:
Text, Number, Boolean, StructuredValue, None); DateTime values are normalised to Orion's
rendering (`2017-06-17T07:21:24.238Z`). Names follow the manual's field syntax rules.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.demo.ngsibroker.geo import geojson_shape
from gateway.demo.ngsibroker.v2query import parse_datetime

BUILTIN_ATTRS = ("dateCreated", "dateModified", "dateExpires")
RESERVED_ATTRS = {"id", "type", "geo:distance", "*", *BUILTIN_ATTRS}
FORBIDDEN_VALUE = set("<>\"'=;()")
_SERVICE = re.compile(r"^[A-Za-z0-9_]{1,50}$")
_PATH_LEVEL = re.compile(r"^[A-Za-z0-9_]{1,50}$")
_NAME_BAD = re.compile(r"[\x00-\x20\x7f-\uffff&?/#]")


class BrokerError(Exception):
    """An NGSI-v2 error answer: `error` name, HTTP status, `description`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def bad_request(description: str) -> BrokerError:
    return BrokerError(400, "BadRequest", description)


def render_time(stamp: float) -> str:
    moment = datetime.fromtimestamp(stamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check_name(name: Any, what: str, *, ids: bool = False) -> str:
    """The manual's field syntax: 1–256 plain ASCII characters, no whitespace, control
    characters, `&?/#`; ids and types also none of Orion's forbidden `<>"'=;()`."""
    if not isinstance(name, str) or not 1 <= len(name) <= 256 or _NAME_BAD.search(name):
        raise bad_request(f"Invalid characters in {what}")
    if ids and FORBIDDEN_VALUE & set(name):
        raise bad_request(f"Invalid characters in {what}")
    return name


def default_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "Text"
    if value is None:
        return "None"
    return "StructuredValue"


def _normalise(kind: str, value: Any, what: str) -> Any:
    """A value as Orion stores it: DateTime rendered its way, geo:json checked as GeoJSON;
    null is taken for both (Orion 3.1+: the attribute then has no date or location)."""
    if isinstance(value, str) and FORBIDDEN_VALUE & set(value):
        raise bad_request(f"Invalid characters in {what} value")
    if value is None:
        return None
    if kind == "geo:json" and geojson_shape(value) is None:
        raise bad_request(f"error parsing location attribute: {what} is not a GeoJSON geometry")
    if kind == "DateTime":
        stamp = parse_datetime(value) if isinstance(value, str) else None
        if stamp is None:
            raise bad_request(f"date has invalid format in {what}")
        return render_time(stamp)
    return value


@dataclass
class Attribute:
    type: str
    value: Any
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, body: Any, *, key_values: bool) -> Attribute:
        """An attribute of a request payload (normalized `{value, type, metadata}` or a
        keyValues plain value)."""
        check_name(name, "attribute name")
        if name in RESERVED_ATTRS:
            raise bad_request(f"attribute name not allowed: {name}")
        if key_values or not isinstance(body, dict):
            if not key_values:
                raise bad_request(f"attribute must be a JSON object: {name}")
            return cls(default_type(body), _normalise(default_type(body), body, name))
        unknown = set(body) - {"value", "type", "metadata"}
        if unknown:
            raise bad_request(f"unrecognized property for attribute {name}: {sorted(unknown)[0]}")
        value = body.get("value")
        kind = body.get("type") or default_type(value)
        check_name(kind, "attribute type")
        metadata: dict[str, dict[str, Any]] = {}
        raw = body.get("metadata") or {}
        if not isinstance(raw, dict):
            raise bad_request(f"metadata of {name} must be a JSON object")
        for meta_name, meta in raw.items():
            check_name(meta_name, "metadata name")
            meta_value = meta.get("value") if isinstance(meta, dict) else meta
            meta_type = (meta.get("type") if isinstance(meta, dict) else None) or default_type(
                meta_value
            )
            meta_value = _normalise(meta_type, meta_value, f"metadata {meta_name}")
            metadata[meta_name] = {"type": meta_type, "value": meta_value}
        return cls(kind, _normalise(kind, value, name), metadata)

    def render(self, metadata: list[str] | None = None) -> dict[str, Any]:
        kept = self.metadata
        if metadata is not None and "*" not in metadata:
            kept = {k: v for k, v in self.metadata.items() if k in metadata}
        return {"type": self.type, "value": self.value, "metadata": dict(kept)}


_SEQ = itertools.count()


@dataclass
class Entity:
    id: str
    type: str
    service_path: str
    attrs: dict[str, Attribute]
    created: float = field(default_factory=time.time)
    modified: float = 0.0
    seq: int = field(default_factory=lambda: next(_SEQ))
    # (modified, location) of the last geo-query; stale once `modified` moves on
    cached_location: tuple[float, Any] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.modified = self.modified or self.created

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.service_path, self.id, self.type)

    def builtin(self, name: str) -> Attribute | None:
        if name == "dateCreated":
            return Attribute("DateTime", render_time(self.created))
        if name == "dateModified":
            return Attribute("DateTime", render_time(self.modified))
        return None

    def attribute(self, name: str) -> Attribute | None:
        """A user attribute, or a builtin one of that name (the user's wins)."""
        return self.attrs.get(name) or self.builtin(name)

    def touch(self) -> None:
        self.modified = max(time.time(), self.modified + 0.001)


@dataclass(frozen=True)
class Scope:
    """The service paths a request reaches: (path, subtree) pairs."""

    paths: tuple[tuple[str, bool], ...]

    def covers(self, service_path: str) -> bool:
        for path, subtree in self.paths:
            if service_path == path:
                return True
            if subtree and (path == "/" or service_path.startswith(path + "/")):
                return True
        return False


def _check_path(path: str) -> None:
    levels = path.split("/")[1:]
    if not path.startswith("/") or len(levels) > 10:
        raise bad_request(f"Bad service path: {path[:60]}")
    if path != "/" and not all(_PATH_LEVEL.match(level) for level in levels):
        raise bad_request(f"Bad service path: {path[:60]}")


def query_scope(header: str | None) -> Scope:
    """The scope of a read: absent -> `/#`; up to 10 comma-separated paths, `/#` ends."""
    if header is None or header.strip() == "":
        return Scope((("/", True),))
    parts = [p.strip() for p in header.split(",")]
    if len(parts) > 10:
        raise bad_request("too many service paths (at most 10)")
    found = []
    for part in parts:
        subtree = part == "/#" or part.endswith("/#")
        path = (part[:-2] or "/") if subtree else part
        _check_path(path)
        found.append((path, subtree))
    return Scope(tuple(found))


def write_path(header: str | None) -> str:
    """The one service path a create writes to: absent -> `/`; no `#`, no list."""
    if header is None or header.strip() == "":
        return "/"
    path = header.strip()
    if "," in path or "#" in path:
        raise bad_request("a service path for an update must be one path without '#'")
    _check_path(path)
    return path


def tenant_name(header: str | None) -> str:
    """`Fiware-Service`, lower-cased; "" is the default tenant."""
    if header is None or header == "":
        return ""
    if not _SERVICE.match(header):
        raise bad_request("bad character in tenant name")
    return header.lower()


@dataclass
class Tenant:
    entities: dict[tuple[str, str, str], Entity] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def visible(self, scope: Scope) -> list[Entity]:
        return [e for e in self.entities.values() if scope.covers(e.service_path)]

    def find(self, scope: Scope, entity_id: str, entity_type: str | None) -> Entity:
        """One entity by id (and type): 404 NotFound, or 409 TooManyResults when the id
        names several."""
        found = [
            e
            for e in self.visible(scope)
            if e.id == entity_id and (entity_type is None or e.type == entity_type)
        ]
        if not found:
            raise BrokerError(
                404, "NotFound", "The requested entity has not been found. Check type and id"
            )
        if len(found) > 1:
            raise BrokerError(
                409, "TooManyResults", "More than one matching entity. Please refine your query"
            )
        return found[0]

    def add(self, entity: Entity) -> None:
        self.entities[entity.key] = entity

    def remove(self, entity: Entity) -> None:
        self.entities.pop(entity.key, None)


class Store:
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}

    def tenant(self, service: str | None) -> Tenant:
        return self.tenants.setdefault(tenant_name(service), Tenant())

    def clear(self) -> None:
        self.tenants.clear()


__all__ = [
    "Attribute",
    "BUILTIN_ATTRS",
    "BrokerError",
    "Entity",
    "Scope",
    "Store",
    "Tenant",
    "bad_request",
    "check_name",
    "default_type",
    "query_scope",
    "render_time",
    "tenant_name",
    "write_path",
]
