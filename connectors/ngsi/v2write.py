"""Writes of the `ngsi-v2` connector (OGC API – Features Part 4 through it), when its
config says `writable: true` (a broker cannot tell whether an account may write):

- create: `POST /v2/entities`, the id given or `urn:ngsi-ld:<Type>:<uuid>`; an existing
  id and type is a SourceConflict (Orion: 422 Already Exists).
- replace: `PUT /v2/entities/{id}/attrs?type=…`: every attribute replaced; those left out
  are removed, and read back as null.
- update: `POST /v2/entities/{id}/attrs?type=…`, Orion's "update or append": only the
  given attributes change, one left unset before is added (PATCH would refuse it). A null
  sets the attribute's value to null, keeping its type (one request, and it reads back as
  the contract says: null); to remove attributes, replace. Metadata not sent is kept.
- delete: `DELETE /v2/entities/{id}?type=…`.
Every request names the entity type, so an entity of another type with the same id is
never touched; an id outside `id_pattern` is not this source's (False). Writes go to the
one service path configured (a subtree or a list cannot take a create).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from connectors.base import Record
from connectors.errors import SourceRefused
from connectors.ngsi import v2client
from connectors.ngsi.v2entity import GEO_TYPES, EntityWriter, known_types, new_id
from connectors.remote.http import HttpEndpoint
from connectors.remote.metacache import MetadataCache

T = TypeVar("T")


class V2Writes:
    """The write half of NgsiV2Connector (a mixin: it reads the connector's config,
    endpoint, tenant headers and metadata cache)."""

    config: Any
    name: str
    endpoint: HttpEndpoint
    headers: dict[str, str]
    cache: MetadataCache

    async def get(self, record_id: str) -> Record | None:
        raise NotImplementedError  # the connector's own

    def writable(self) -> bool:
        return self.config.writable

    async def create(self, record: Record) -> str:
        given = record.get("id")
        entity_id = str(given) if given not in (None, "") else new_id(self.config.entity_type)
        if not self._ours(entity_id):
            raise SourceRefused(400, f"{self.name}: the id {entity_id[:80]} is not this source's")
        writer = await self._writer()
        entity = self._built(lambda: writer.entity(entity_id, record))
        await v2client.create_entity(self.endpoint, entity, self.headers)
        return entity_id

    async def replace(self, record_id: str, record: Record) -> bool:
        if not self._ours(record_id):
            return False
        writer = await self._writer()
        geometry = record.get("geometry") is not None
        attrs = self._built(lambda: writer.attributes(record, geometry=geometry))
        return await v2client.replace_attrs(
            self.endpoint, record_id, self.config.entity_type, attrs, self.headers
        )

    async def update(self, record_id: str, changes: Record) -> bool:
        if not self._ours(record_id):
            return False
        writer = await self._writer()
        attrs = self._built(lambda: writer.attributes(changes, geometry="geometry" in changes))
        if not attrs:  # nothing to change: say whether it exists
            return await self.get(record_id) is not None
        return await v2client.append_attrs(
            self.endpoint, record_id, self.config.entity_type, attrs, self.headers
        )

    async def delete(self, record_id: str) -> bool:
        if not self._ours(record_id):
            return False
        return await v2client.delete_entity(
            self.endpoint, record_id, self.config.entity_type, self.headers
        )

    # --- internals --------------------------------------------------------------------

    def _ours(self, entity_id: str) -> bool:
        pattern = self.config.id_pattern
        return not pattern or re.search(pattern, entity_id) is not None

    async def _writer(self) -> EntityWriter:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        types = await self.cache.get("types", self._types)
        location = self.config.location_attribute or next(
            (name for name, kind in types.items() if kind in GEO_TYPES), "location"
        )
        return EntityWriter(
            self.config.entity_type,
            normalized=self.config.representation == "normalized",
            location=location,
            types=types,
        )

    async def _types(self) -> dict[str, str]:
        doc = await v2client.entity_type(self.endpoint, self.config.entity_type, self.headers)
        return known_types(doc)

    def _built(self, build: Callable[[], T]) -> T:
        try:
            return build()
        except ValueError as e:
            raise SourceRefused(400, f"{self.name}: {e}") from None


__all__ = ["V2Writes"]
