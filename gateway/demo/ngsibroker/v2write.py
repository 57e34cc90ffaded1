"""How writes change entities, shared by the entity routes and POST /v2/op/update:
create (optionally upsert), append (strict: no existing attribute), update (only existing
attributes), replace (all attributes), each returning the names of the attributes it
touched, which decide the subscriptions that fire.

Updating an existing attribute keeps the metadata the request does not name (Orion 3.5+;
`options=overrideMetadata` replaces them all); replacing the attributes does not."""

from __future__ import annotations

from typing import Any

from gateway.demo.ngsibroker.store import (
    Attribute,
    BrokerError,
    Entity,
    Tenant,
    bad_request,
    check_name,
)

DEFAULT_TYPE = "Thing"


def parse_attrs(body: dict[str, Any], *, key_values: bool) -> dict[str, Attribute]:
    return {
        name: Attribute.parse(name, value, key_values=key_values)
        for name, value in body.items()
        if name not in ("id", "type")
    }


def entity_head(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise bad_request("an entity must be a JSON object")
    if "id" not in body:
        raise bad_request("entity id is missing")
    entity_id = check_name(body["id"], "entity id", ids=True)
    entity_type = check_name(body.get("type", DEFAULT_TYPE), "entity type", ids=True)
    return entity_id, entity_type


def create(
    tenant: Tenant, path: str, body: Any, *, key_values: bool, upsert: bool
) -> tuple[Entity, set[str], bool]:
    """A new entity in `path` (422 Already Exists, unless `upsert`: then its attributes are
    appended). Returns the entity, the touched attribute names, and whether it is new."""
    entity_id, entity_type = entity_head(body)
    attrs = parse_attrs(body, key_values=key_values)
    found = tenant.entities.get((path, entity_id, entity_type))
    if found is not None:
        if not upsert:
            raise BrokerError(422, "Unprocessable", "Already Exists")
        return found, append(found, attrs, strict=False), False
    entity = Entity(entity_id, entity_type, path, attrs)
    tenant.add(entity)
    return entity, set(attrs), True


def keep_metadata(entity: Entity, attrs: dict[str, Attribute], *, override: bool) -> None:
    """An updated attribute's metadata: the stored ones, with the request's over them."""
    if override:
        return
    for name, attr in attrs.items():
        before = entity.attrs.get(name)
        if before is not None:
            attr.metadata = {**before.metadata, **attr.metadata}


def append(
    entity: Entity, attrs: dict[str, Attribute], *, strict: bool, override_metadata: bool = False
) -> set[str]:
    if strict:
        existing = sorted(set(attrs) & set(entity.attrs))
        if existing:
            raise BrokerError(
                422,
                "Unprocessable",
                f"one or more of the attributes in the request already exist: [ {existing[0]} ]",
            )
    keep_metadata(entity, attrs, override=override_metadata)
    entity.attrs.update(attrs)
    entity.touch()
    return set(attrs)


def update(
    entity: Entity, attrs: dict[str, Attribute], *, override_metadata: bool = False
) -> set[str]:
    """Only existing attributes (422 naming a missing one, nothing changed)."""
    missing = sorted(set(attrs) - set(entity.attrs))
    if missing:
        raise BrokerError(422, "Unprocessable", f"do not exist: {entity.id} - [ {missing[0]} ]")
    keep_metadata(entity, attrs, override=override_metadata)
    entity.attrs.update(attrs)
    entity.touch()
    return set(attrs)


def replace(entity: Entity, attrs: dict[str, Attribute]) -> set[str]:
    entity.attrs = dict(attrs)
    entity.touch()
    return set(attrs)


def delete_attrs(entity: Entity, names: list[str]) -> None:
    missing = [n for n in names if n not in entity.attrs]
    if missing:
        raise BrokerError(404, "NotFound", "The entity does not have such an attribute")
    for name in names:
        del entity.attrs[name]
    entity.touch()


__all__ = [
    "DEFAULT_TYPE",
    "append",
    "create",
    "delete_attrs",
    "entity_head",
    "keep_metadata",
    "parse_attrs",
    "replace",
    "update",
]
