"""Writes of the `wfs` connector through WFS-T 2.0 (OGC API – Features Part 4 through it),
when its config says `writable: true` and the server's capabilities offer Transaction.

Each write is one `wfs:Transaction` document POSTed to the endpoint once, never retried (a
second try could insert twice). The documents and their answers are connectors/wfs/
transaction.py's; here they meet the connector's metadata:

- create: `wfs:Insert`; the new record's id is what the read path would report for it: the
  InsertResults' resource id (the gml:id), or with `id_field` the inserted feature's value
  read back by that resource id. An id given goes along (as gml:id, or the id field's value)
  but the server decides: most make their own key (WFS 2.0 has no idgen), so a given id
  that exists is no conflict there, just a new feature with another id.
- replace / update / delete: `wfs:Replace` / `wfs:Update` / `wfs:Delete` selecting the
  feature as `get()` does; False (the gateway's 404) when the summary counts none.

The connector caches only metadata (capabilities, schema), nothing of results: the
gateway's own caches learn of the write from it (gateway/features/write.py). WFS has no
compare-and-write, so there is no `write_if`: an If-Match is checked before the write only.
"""

from __future__ import annotations

from typing import Any

from connectors.base import Record, SourceQuery
from connectors.errors import SourceError, SourceRefused
from connectors.remote.http import HttpEndpoint
from connectors.wfs import reader, transaction
from connectors.wfs.reader import Target
from connectors.wfs.service import ServiceInfo
from connectors.wfs.transaction import FeatureKind, Summary

_HEADERS = {"Content-Type": "application/xml", "Accept": "application/xml, text/xml;q=0.9"}


class WfsWrites:
    """The write half of WFSConnector (a mixin: it reads the connector's config, endpoint
    and metadata)."""

    config: Any
    name: str
    endpoint: HttpEndpoint
    _last: Target | None

    async def _target(self) -> Target:
        raise NotImplementedError  # the connector's own

    async def get(self, record_id: str) -> Record | None:
        raise NotImplementedError  # the connector's own

    def writable(self) -> bool:
        """As configured, unless the capabilities last read offer no Transaction (then the
        gateway declares no Part 4 and answers writes 405)."""
        if not self.config.writable:
            return False
        last = self._last
        return last is None or last.service.transactions() is None

    async def create(self, record: Record) -> str:
        target, kind = await self._kind()
        done = await self._send(transaction.insert(kind, record))
        if len(done.inserted_ids) != 1 or not done.inserted_ids[0]:
            raise SourceError(
                f"{self.name}: the WFS inserted {done.inserted} features, "
                f"naming {len(done.inserted_ids)} in its InsertResults"
            )
        rid = done.inserted_ids[0]
        if kind.id_field is None:
            return rid
        return await self._id_of(target, rid)  # the value given is the server's to keep

    async def replace(self, record_id: str, record: Record) -> bool:
        _, kind = await self._kind()
        if not _addressable(kind, record_id):
            return False
        done = await self._send(transaction.replace(kind, record_id, record))
        return done.replaced + done.updated > 0  # some servers count a Replace as an update

    async def update(self, record_id: str, changes: Record) -> bool:
        _, kind = await self._kind()
        if not _addressable(kind, record_id):
            return False
        if not transaction.changes_anything(changes):  # nothing to change: does it exist?
            return await self.get(record_id) is not None
        done = await self._send(transaction.update(kind, record_id, changes))
        return done.updated > 0

    async def delete(self, record_id: str) -> bool:
        _, kind = await self._kind()
        if not _addressable(kind, record_id):
            return False
        done = await self._send(transaction.delete(kind, record_id))
        return done.deleted > 0

    # --- internals --------------------------------------------------------------------

    async def _kind(self) -> tuple[Target, FeatureKind]:
        """The feature type to write, once the config and the server both allow writes."""
        if not self.config.writable:
            raise SourceRefused(405, f"{self.name}: the source is not configured writable")
        target = await self._target()
        lacking = write_problem(target.service)
        if lacking is not None:
            raise SourceRefused(405, f"{self.name}: {lacking}")
        kind = FeatureKind(
            type_name=target.feature_type.name,
            schema=target.schema,
            srs=target.srs,
            id_field=self.config.id_field,
        )
        return target, kind

    async def _send(self, document: bytes) -> Summary:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        answer = await self.endpoint.send(
            "POST", self.endpoint.base, headers=_HEADERS, content=document
        )
        return transaction.summary(self.name, answer.status, answer.content)

    async def _id_of(self, target: Target, rid: str) -> str:
        """The id field's value of the feature just inserted (a key the server made)."""
        plan = reader.Plan.make(target, SourceQuery(limit=1)).with_request(resource_id=rid)
        found = [r async for r in reader.pages(self.endpoint, plan)]
        if not found:
            raise SourceError(  # e.g. MapServer serves no feature without a geometry
                f"{self.name}: inserted {rid[:80]}, but GetFeature does not return it: "
                f"its {self.config.id_field} is unknown"
            )
        return str(found[0]["id"])


def _addressable(kind: FeatureKind, record_id: str) -> bool:
    """False for an id no feature can have (text for an integer id field)."""
    if not transaction.xml_text(record_id):
        return False
    if kind.id_field is None or kind.schema.types.get(kind.id_field) != "integer":
        return True
    return record_id.removeprefix("-").isdigit()


def write_problem(service: ServiceInfo) -> str | None:
    """Why the server takes no Transaction, for `config check` and a write's refusal."""
    lacking = service.transactions()
    if lacking is None:
        return None
    return f"writable, but the WFS capabilities offer no WFS-T 2.0 ({lacking})"


def write_problems(config: Any, service: ServiceInfo) -> list[str]:
    problem = write_problem(service) if config.writable else None
    return [] if problem is None else [problem]


__all__ = ["WfsWrites", "write_problem", "write_problems"]
