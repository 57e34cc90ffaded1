"""The NGSI-LD test broker's entities, per tenant, in memory.

Entities are kept normalized with expanded names (attribute names and types as IRIs, see
ldcontext.py), in creation order (the order queries page through, as Orion-LD's). Each
attribute is a Property (`value`), GeoProperty (`value`: a GeoJSON geometry) or
Relationship (`object`), with optional `observedAt`, `unitCode`, `datasetId` and
sub-properties; a multi-attribute (several `datasetId`s) is a list. The broker stamps
`createdAt`/`modifiedAt` (entity and attributes). Every Property value with an
`observedAt` is also appended to the attribute's history, which the temporal API reads.

Tenants (`NGSILD-Tenant`) come into being with their first entity or subscription; a read
of an unknown tenant is a 404 (6.3.14). The default tenant is the empty name.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.demo.ngsibroker.ldcontext import Context

GEO_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
ATTRIBUTE_TYPES = frozenset(
    {"Property", "GeoProperty", "Relationship", "LanguageProperty", "ListProperty"}
)
ENTITY_KEYS = frozenset({"id", "type", "@context", "createdAt", "modifiedAt", "scope"})
ATTRIBUTE_META = frozenset(
    {"type", "value", "object", "observedAt", "unitCode", "datasetId", "createdAt",
     "modifiedAt", "languageMap", "objectList", "valueList", "instanceId"}
)  # fmt: skip


class LdError(Exception):
    """A request the broker refuses: rendered as ProblemDetails of `kind` with `status`."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Tenant:
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (entity id, attribute IRI) -> instances in the order they were observed
    history: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)


class LdStore:
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {"": Tenant()}

    def tenant(self, name: str | None, *, create: bool = False) -> Tenant:
        key = name or ""
        if key not in self.tenants:
            if not create:
                raise LdError(404, "NonexistentTenant", f"no tenant '{key[:80]}'")
            self.tenants[key] = Tenant()
        return self.tenants[key]

    # --- writes ---------------------------------------------------------------------------

    def create(self, tenant: Tenant, body: Any, ctx: Context) -> dict[str, Any]:
        entity = normalize_entity(body, ctx)
        if entity["id"] in tenant.entities:
            raise LdError(409, "AlreadyExists", f"entity {entity['id']} already exists")
        stamp = now()
        entity["createdAt"] = entity["modifiedAt"] = stamp
        for name, attr in attributes(entity):
            _stamp(attr, stamp, created=True)
            self._remember(tenant, entity["id"], name, attr)
        tenant.entities[entity["id"]] = entity
        return entity

    def update(
        self, tenant: Tenant, entity_id: str, body: Any, ctx: Context, *, overwrite: bool = True
    ) -> tuple[dict[str, Any], list[str]]:
        """Append (overwrite=True) or update attributes; returns the entity and the names
        of attributes not updated (absent ones when overwrite=False, 207 in the answer)."""
        entity = self.get(tenant, entity_id)
        if not isinstance(body, dict):
            raise LdError(400, "BadRequestData", "the body must be a JSON object")
        changes = {
            ctx.expand(k): normalize_attribute(k, v, ctx)
            for k, v in body.items()
            if k not in ENTITY_KEYS
        }
        stamp, skipped = now(), []
        for name, attr in changes.items():
            if not overwrite and name not in entity:
                skipped.append(ctx.compact(name))
                continue
            old = entity.get(name)
            for instance in attr if isinstance(attr, list) else [attr]:
                created = old["createdAt"] if isinstance(old, dict) and "createdAt" in old else None
                _stamp(instance, stamp, created=created is None)
                if created is not None:
                    instance["createdAt"] = created
            entity[name] = attr
            self._remember(tenant, entity_id, name, attr)
        entity["modifiedAt"] = stamp
        return entity, skipped

    def replace(self, tenant: Tenant, entity_id: str, body: Any, ctx: Context) -> dict[str, Any]:
        """Replace Entity (6.5.3.3, API 1.6.1+): the body's type and attributes, nothing
        else of the old entity but its createdAt; 404 when absent, 400 when the body names
        another id."""
        old = self.get(tenant, entity_id)
        if isinstance(body, dict) and body.get("id", entity_id) != entity_id:
            raise LdError(400, "BadRequestData", "the body's id is not the entity's")
        entity = normalize_entity(
            {**body, "id": entity_id} if isinstance(body, dict) else body, ctx
        )
        stamp = now()
        entity["createdAt"], entity["modifiedAt"] = old.get("createdAt", stamp), stamp
        for name, attr in attributes(entity):
            for instance in attr if isinstance(attr, list) else [attr]:
                _stamp(instance, stamp, created=True)
            self._remember(tenant, entity_id, name, attr)
        tenant.entities[entity_id] = entity
        return entity

    def upsert(self, tenant: Tenant, body: Any, ctx: Context, *, replace: bool) -> bool:
        """Batch upsert of one entity: True when it was created."""
        entity = normalize_entity(body, ctx)
        old = tenant.entities.get(entity["id"])
        if old is None:
            self.create(tenant, body, ctx)
            return True
        if replace:
            for name, _ in list(attributes(old)):
                del old[name]
        self.update(tenant, entity["id"], body, ctx)
        return False

    def delete(self, tenant: Tenant, entity_id: str) -> None:
        self.get(tenant, entity_id)
        del tenant.entities[entity_id]
        for key in [k for k in tenant.history if k[0] == entity_id]:
            del tenant.history[key]

    def _remember(self, tenant: Tenant, entity_id: str, name: str, attr: Any) -> None:
        for instance in attr if isinstance(attr, list) else [attr]:
            if instance.get("type") == "Property" and "observedAt" in instance:
                kept = {k: v for k, v in instance.items() if k not in ("createdAt",)}
                tenant.history.setdefault((entity_id, name), []).append(copy.deepcopy(kept))

    # --- reads ----------------------------------------------------------------------------

    def get(self, tenant: Tenant, entity_id: str) -> dict[str, Any]:
        entity = tenant.entities.get(entity_id)
        if entity is None:
            raise LdError(404, "ResourceNotFound", f"no entity {entity_id[:200]}")
        return entity

    def types(self, tenant: Tenant) -> dict[str, set[str]]:
        """Entity type IRI -> the attribute IRIs its entities have."""
        found: dict[str, set[str]] = {}
        for entity in tenant.entities.values():
            for kind in _types(entity):
                found.setdefault(kind, set()).update(name for name, _ in attributes(entity))
        return found


def attributes(entity: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, attr in entity.items():
        if name not in ENTITY_KEYS:
            yield name, attr


def _types(entity: dict[str, Any]) -> list[str]:
    kind = entity.get("type")
    return kind if isinstance(kind, list) else [kind]


def has_type(entity: dict[str, Any], wanted: set[str]) -> bool:
    return any(kind in wanted for kind in _types(entity))


def _stamp(attr: dict[str, Any], stamp: str, *, created: bool) -> None:
    if created:
        attr["createdAt"] = stamp
    attr["modifiedAt"] = stamp


# --- input normalisation ----------------------------------------------------------------


def normalize_entity(body: Any, ctx: Context) -> dict[str, Any]:
    """An entity in normalized or concise form as stored (names expanded); 400 if broken."""
    if not isinstance(body, dict):
        raise LdError(400, "BadRequestData", "an entity must be a JSON object")
    entity_id, kind = body.get("id"), body.get("type")
    if not isinstance(entity_id, str) or ":" not in entity_id:
        raise LdError(400, "BadRequestData", "an entity needs an 'id' that is a URI")
    kinds = kind if isinstance(kind, list) else [kind]
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise LdError(400, "BadRequestData", f"entity {entity_id}: 'type' is missing")
    expanded = [ctx.expand(k) for k in kinds]
    entity: dict[str, Any] = {
        "id": entity_id,
        "type": expanded if len(expanded) > 1 else expanded[0],
    }
    for name, value in body.items():
        if name not in ENTITY_KEYS:
            entity[ctx.expand(name)] = normalize_attribute(name, value, ctx)
    return entity


def normalize_attribute(name: str, value: Any, ctx: Context) -> Any:
    """One attribute (or a list of instances) in normalized form; concise input (a bare
    value, `{"value": …}`, `{"object": …}`, a GeoJSON geometry) is completed as 4.5.6 says."""
    if isinstance(value, list) and value and all(_typed(v) for v in value):
        return [_one(name, v, ctx) for v in value]
    return _one(name, value, ctx)


def _typed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in ATTRIBUTE_TYPES


def _one(name: str, value: Any, ctx: Context) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {"type": "GeoProperty" if _geometry(value) else "Property", "value": value}
    if _geometry(value):
        return {"type": "GeoProperty", "value": value}
    kind = value.get("type")
    if kind not in ATTRIBUTE_TYPES:
        if "object" in value:
            kind = "Relationship"
        elif "value" in value:
            kind = "GeoProperty" if _geometry(value["value"]) else "Property"
        else:
            return {"type": "Property", "value": value}
    attr = {"type": kind}
    for key, item in value.items():
        if key == "type":
            continue
        if key in ATTRIBUTE_META:
            attr[key] = item
        else:
            attr[ctx.expand(key)] = _one(key, item, ctx)
    _check(name, attr)
    return attr


def _check(name: str, attr: dict[str, Any]) -> None:
    kind = attr["type"]
    if kind == "Relationship" and not isinstance(attr.get("object"), str | list):
        raise LdError(400, "BadRequestData", f"relationship '{name}' needs an 'object' URI")
    if kind in ("Property", "GeoProperty") and attr.get("value") is None:
        raise LdError(400, "BadRequestData", f"property '{name}' needs a 'value'")
    if kind == "GeoProperty" and not _geometry(attr["value"]):
        raise LdError(400, "BadRequestData", f"'{name}' is a GeoProperty without a geometry")
    observed = attr.get("observedAt")
    if observed is not None and not _instant(observed):
        raise LdError(400, "BadRequestData", f"'{name}': observedAt is not a DateTime")


def _geometry(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") in GEO_TYPES
        and isinstance(value.get("coordinates"), list)
    )


def _instant(value: Any) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


__all__ = ["LdError", "LdStore", "Tenant", "attributes", "has_type", "normalize_entity", "now"]
