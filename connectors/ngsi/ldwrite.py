"""Writes of the `ngsi-ld` connector (OGC API – Features Part 4 through it), when its config
says `writable: true` (a broker cannot tell whether an account may write). Every request
carries the tenant and the @context Link header the connector reads with.

- create: `POST /entities`, the id given or `urn:ngsi-ld:<Type>:<uuid>`; an existing id is
  a SourceConflict (409 AlreadyExists).
- replace: `PUT /entities/{id}` (Replace Entity, NGSI-LD 1.6.1; Orion-LD, Stellio and
  Scorpio serve it): attributes left out are gone, and read back as null.
- update: `POST /entities/{id}/attrs` (Append Attributes: replaced or added; PATCH would
  skip an attribute the entity lacks) with each given attribute merged over the one the
  broker holds, so a new value keeps its unit and observation time; null attributes are
  removed (`DELETE /entities/{id}/attrs/{name}`), as NGSI-LD has no null values. Two
  requests then, not one transaction.
- delete: `DELETE /entities/{id}`.
An entity of another type (ids are unique across types in NGSI-LD) is not this source's:
replace, update and delete read it first and answer False, as `get` answers None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from connectors.base import Record
from connectors.errors import SourceError, SourceRefused
from connectors.ngsi import ldclient, ldrecords
from connectors.ngsi.ldentity import LdEntityWriter, learn_kinds, merged
from connectors.ngsi.v2entity import new_id
from connectors.remote.http import HttpEndpoint

T = TypeVar("T")


class LdWrites:
    """The write half of NGSILDConnector (a mixin: it reads the connector's config,
    endpoint and target)."""

    config: Any
    name: str
    endpoint: HttpEndpoint
    target: ldclient.LdTarget
    _kinds: dict[str, str] | None = None

    def writable(self) -> bool:
        return bool(self.config.writable)

    async def create(self, record: Record) -> str:
        given = record.get("id")
        entity_id = str(given) if given not in (None, "") else new_id(self.config.type)
        writer = await self._writer()
        entity = _built(self.name, lambda: writer.entity(entity_id, record))
        await ldclient.create_entity(self.endpoint, self.target, entity)
        return entity_id

    async def replace(self, record_id: str, record: Record) -> bool:
        if await self._current(record_id) is None:
            return False
        writer = await self._writer()
        entity = _built(self.name, lambda: writer.entity(record_id, record))
        return await ldclient.replace_entity(self.endpoint, self.target, record_id, entity)

    async def update(self, record_id: str, changes: Record) -> bool:
        current = await self._current(record_id)
        if current is None:
            return False
        writer = await self._writer()
        found = _built(self.name, lambda: writer.changes(changes, geometry="geometry" in changes))
        attrs = {name: merged(current.get(name), attr) for name, attr in found.set.items()}
        if attrs and not await ldclient.append_attrs(self.endpoint, self.target, record_id, attrs):
            return False
        for name in found.removed:
            if name in current:
                await ldclient.delete_attr(self.endpoint, self.target, record_id, name)
        return True

    async def delete(self, record_id: str) -> bool:
        if await self._current(record_id) is None:
            return False
        return await ldclient.delete_entity(self.endpoint, self.target, record_id)

    # --- internals --------------------------------------------------------------------

    async def _current(self, record_id: str) -> dict[str, Any] | None:
        """The entity as the broker holds it (normalized), when it is of this source's type."""
        if not self.endpoint.is_open:
            await self.endpoint.open()
        entity = await ldclient.get_entity(self.endpoint, self.target, record_id)
        if entity is None or not ldrecords.has_type(entity, self.config.type):
            return None
        return entity

    async def _writer(self) -> LdEntityWriter:
        if self._kinds is None:
            if not self.endpoint.is_open:
                await self.endpoint.open()
            try:
                page = await ldclient.list_entities(
                    self.endpoint,
                    self.target,
                    {"type": self.config.type},
                    limit=min(self.config.sample, self.config.page_size),
                )
            except SourceError as e:
                if "NonexistentTenant" not in (e.answer or ""):
                    raise
                return self._new_writer({})  # the first entity creates the tenant
            if not page.entities:
                return self._new_writer({})  # nothing to learn from yet: ask again later
            self._kinds = learn_kinds(page.entities)
        return self._new_writer(self._kinds)

    def _new_writer(self, kinds: dict[str, str]) -> LdEntityWriter:
        return LdEntityWriter(
            self.config.type,
            normalized=self.config.representation == "normalized",
            geoproperty=self.config.geoproperty,
            kinds=kinds,
        )


def _built(name: str, build: Callable[[], T]) -> T:
    try:
        return build()
    except ValueError as e:
        raise SourceRefused(400, f"{name}: {e}") from None


__all__ = ["LdWrites"]
