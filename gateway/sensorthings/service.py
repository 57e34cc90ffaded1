"""One tenant's SensorThings service over the embedded store.

`EmbeddedService` turns parsed requests into store plans and, after each committed write,
hands the created and changed entities to the notifier (the MQTT bridge). The proxy
(`proxy.py`) offers the same methods over an upstream server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.errors import NotFound
from gateway.sensorthings.config import StaServerSettings, TenantSensorThings
from gateway.sensorthings.encode import Links, encode_entity
from gateway.sensorthings.errors import (
    ON_COLLECTION,
    ON_ENTITY,
    InvalidBody,
    MethodNotAllowed,
)
from gateway.sensorthings.model import BY_NAME, EntityType, inverse
from gateway.sensorthings.odata import bind
from gateway.sensorthings.odata.options import QueryOptions
from gateway.sensorthings.paths import ResourcePath
from gateway.sensorthings.store import Store, open_store
from gateway.sensorthings.store.bulk import create_observations
from gateway.sensorthings.store.dialect import Dialect, Sql
from gateway.sensorthings.store.modify import delete, update
from gateway.sensorthings.store.plan import Plan, Rows, Stmt
from gateway.sensorthings.store.read import (
    ALIAS,
    ReadContext,
    columns,
    read,
    read_entity,
    resolve_target,
)
from gateway.sensorthings.store.stream import read_streamed
from gateway.sensorthings.store.values import check_body
from gateway.sensorthings.store.write import WriteContext, insert

log = logging.getLogger("twinbridge.sensorthings")
# (entity type, stored row, encoded entity) for each created or changed entity
Notice = tuple[EntityType, Sequence[Any], dict[str, Any]]
# (topic below the version, entity) announced besides: `Things(1)/Locations` when Thing 1 moved
Extra = tuple[str, dict[str, Any]]
Notifier = Callable[["EmbeddedService", list[Notice], bool, list[Extra]], Awaitable[None]]
NOTIFY_LIMIT = 50000  # larger batches are not announced one by one


@dataclass
class Created:
    etype: EntityType
    id: int
    doc: dict[str, Any]


class EmbeddedService:
    multi_datastream = True

    def __init__(
        self, tenant: str, cfg: TenantSensorThings, settings: StaServerSettings, base_dir: Path
    ) -> None:
        assert cfg.store is not None
        self.tenant = tenant
        self.cfg = cfg
        self.settings = settings
        store = cfg.store
        path = (base_dir / store.path) if store.path else None
        self.store: Store = open_store(
            store.kind,
            path=path,
            dsn=store.dsn,
            schema=store.db_schema or f"sta_{tenant.replace('-', '_')}",
            readers=store.readers,
        )
        self.api_key_env = cfg.api_key_env
        self.access_writes = False  # the tenant's `access` block grants writes (facade sets it)
        self.limits = settings.write_limits()
        self.odata_limits = settings.odata_limits()
        self.notifier: Notifier | None = None
        self.listening: Callable[[], bool] | None = None  # None: the notifier always listens
        # Links for announcements of writes that no request made (imports, MQTT creates):
        # from `server.base_url` when set, else from the latest request.
        # Links for announcing writes that no request made (imports, MQTT creates): from
        # `server.base_url` when it is set (see `use_base_url`), else the latest request's.
        self.last_links: Links | None = None
        self.fixed_links = False

    def use_base_url(self, base_url: str) -> None:
        self.last_links = Links(f"{base_url.rstrip('/')}/{self.tenant}/sta/v1.1")
        self.fixed_links = True

    @property
    def writable(self) -> bool:
        """Writes need an API key configured by name and set in the environment, or a
        writer in the tenant's `access` block."""
        if self.access_writes:
            return True
        return self.api_key_env is not None and bool(os.environ.get(self.api_key_env))

    @property
    def title(self) -> str:
        return self.cfg.title or self.tenant

    async def open(self) -> None:
        await self.store.open()

    def data_version(self) -> str | None:
        """The store's change tag where it has one cheaply (SQLite), for HTTP validators."""
        version = getattr(self.store, "data_version", None)
        return version() if version is not None else None

    async def close(self) -> None:
        await self.store.close()

    def context(self, links: Links) -> ReadContext:
        return ReadContext(
            self.store.dialect, links, self.settings.default_top, self.settings.max_top
        )

    async def get(self, path: ResourcePath, options: QueryOptions, links: Links) -> Any:
        bind.check(path.type, options, self.odata_limits)
        return await self.store.read(read(self.context(links), path, options))

    async def stream(self, path: ResourcePath, options: QueryOptions, links: Links) -> Any:
        """`get` for a client: a large entity set comes as a stream (store/stream.py)."""
        bind.check(path.type, options, self.odata_limits)
        return await read_streamed(self.store.read, self.context(links), path, options)

    async def create(self, path: ResourcePath, body: Any, links: Links) -> Created:
        if not path.is_collection or path.ref:
            raise MethodNotAllowed(
                "POST needs a collection, e.g. /Things or /Things(1)/Datastreams", ON_ENTITY
            )
        check_body(body, self.limits)
        ctx = WriteContext(self.store.dialect, limits=self.limits)
        etype, id_, doc = await self.store.write(self._create_plan(ctx, path, body, links))
        await self._notify(ctx, links, created=True)
        return Created(etype, id_, doc)

    def _create_plan(
        self, ctx: WriteContext, path: ResourcePath, body: Any, links: Links
    ) -> Plan[tuple]:
        found = yield from resolve_target(self.store.dialect, path)
        assert found.scope is not None
        parent = None
        if found.scope.parent is not None:
            ptype, pid, rel = found.scope.parent
            back = inverse(ptype, rel)
            assert back is not None
            parent = (back, pid)
        id_ = yield from insert(ctx, found.etype, body, parent)
        doc = yield from read_entity(
            self.context(links), ResourcePath(), found.etype, id_, QueryOptions()
        )
        return found.etype, id_, doc

    async def update(
        self, path: ResourcePath, body: Any, links: Links, replace_all: bool
    ) -> dict[str, Any]:
        check_body(body, self.limits)
        ctx = WriteContext(self.store.dialect, limits=self.limits)
        doc = await self.store.write(self._update_plan(ctx, path, body, links, replace_all))
        await self._notify(ctx, links, created=False)
        return doc

    def _update_plan(
        self, ctx: WriteContext, path: ResourcePath, body: Any, links: Links, replace_all: bool
    ) -> Plan[Any]:
        etype, id_ = yield from self._entity(path)
        if isinstance(body, list):  # JSON Patch
            from gateway.sensorthings.jsonpatch import apply_patch

            current = yield from read_entity(
                self.context(links), ResourcePath(), etype, id_, QueryOptions()
            )
            body = apply_patch(etype, current, body)
        yield from update(ctx, etype, id_, body, replace_all)
        return (
            yield from read_entity(self.context(links), ResourcePath(), etype, id_, QueryOptions())
        )

    async def delete(self, path: ResourcePath) -> None:
        ctx = WriteContext(self.store.dialect, limits=self.limits)
        await self.store.write(self._delete_plan(ctx, path))

    def _delete_plan(self, ctx: WriteContext, path: ResourcePath) -> Plan[None]:
        etype, id_ = yield from self._entity(path)
        yield from delete(ctx, etype, id_)

    def _entity(self, path: ResourcePath) -> Plan[tuple[EntityType, int]]:
        if path.is_collection or path.member or path.ref or not path.segments:
            raise MethodNotAllowed(
                "this method needs a single entity, e.g. /Things(1)", ON_COLLECTION
            )
        found = yield from resolve_target(self.store.dialect, path)
        if found.id is None:
            raise NotFound("no such entity")
        return found.etype, found.id

    async def create_observations(self, body: Any, links: Links) -> list[str]:
        check_body(body, self.limits)
        ctx = WriteContext(self.store.dialect, limits=self.limits)
        ids = await self.store.write(create_observations(ctx, body))
        await self._notify(ctx, links, created=True)
        observation = BY_NAME["Observation"]
        return [links.entity(observation, i) if i is not None else "error" for i in ids]

    async def _notify(self, ctx: WriteContext, links: Links, created: bool) -> None:
        if not self.fixed_links:
            self.last_links = links
        items = ctx.created if created else ctx.changed
        moved = [id_ for etype, id_ in ctx.created if etype.name == "HistoricalLocation"]
        new = {id_ for etype, id_ in ctx.created if etype.name == "Location"}
        if self.notifier is None or not (items or moved) or len(items) > NOTIFY_LIMIT:
            return
        if self.listening is not None and not self.listening():
            return
        try:
            dialect = self.store.dialect
            notices = await self.store.read(fetch_notices(dialect, items, links)) if items else []
            extra = await self.store.read(fetch_moves(dialect, moved, new, links)) if moved else []
            await self.notifier(self, notices, created, extra)
        except Exception:  # a broker problem must never fail a committed write
            log.exception("tenant %s: could not announce %d entities", self.tenant, len(items))

    async def run_write(
        self, plan_factory: Callable[[WriteContext], Plan[Any]], links: Links | None = None
    ) -> Any:
        """Run a write plan (imports), then announce what it created."""
        ctx = WriteContext(self.store.dialect, limits=self.limits)
        result = await self.store.write(plan_factory(ctx))
        links = links or self.last_links
        if links is not None:
            await self._notify(ctx, links, created=True)
        return result


def fetch_notices(
    dialect: Dialect, items: list[tuple[EntityType, int]], links: Links
) -> Plan[list[Notice]]:
    by_type: dict[str, list[int]] = {}
    for etype, id_ in items:
        by_type.setdefault(etype.name, []).append(id_)
    out: list[Notice] = []
    for name, ids in by_type.items():
        etype = BY_NAME[name]
        for i in range(0, len(ids), 5000):
            sql = Sql(dialect)
            marks = ", ".join(sql.param(v) for v in ids[i : i + 5000])
            rows: Rows = yield Stmt(
                f"SELECT {columns(etype)} FROM {etype.table} {ALIAS}"
                f" WHERE {ALIAS}.id IN ({marks}) ORDER BY {ALIAS}.id",
                sql.params,
            )
            out += [(etype, row, encode_entity(etype, row, links, None)) for row in rows]
    return out


def fetch_moves(
    dialect: Dialect, historical: list[int], new: set[int], links: Links
) -> Plan[list[Extra]]:
    """The Locations a Thing was given, for `Things(id)/Locations`: a Location entering a
    Thing's Locations is how a subscriber (Masterportal's moving sensors) learns that the
    Thing moved. Of a new HistoricalLocation's Locations those created in the same write
    (`new`), or all of them when none was (the Locations were replaced by references)."""
    location = BY_NAME["Location"]
    found: dict[int, list[tuple[int, Sequence[Any]]]] = {}
    for i in range(0, len(historical), 5000):
        sql = Sql(dialect)
        marks = ", ".join(sql.param(v) for v in historical[i : i + 5000])
        rows: Rows = yield Stmt(
            f"SELECT hl.thing_id, {columns(location)} FROM {location.table} {ALIAS}"
            f" JOIN location_historical_locations lh ON lh.location_id = {ALIAS}.id"
            " JOIN historical_locations hl ON hl.id = lh.historical_location_id"
            f" WHERE hl.id IN ({marks}) ORDER BY hl.id, {ALIAS}.id",
            sql.params,
        )
        for row in rows:
            found.setdefault(row[0], []).append((row[1], row[1:]))
    out: list[Extra] = []
    for thing, given in found.items():
        created = [row for id_, row in given if id_ in new]
        for row in created or [row for _, row in given]:
            out.append((f"Things({thing})/Locations", encode_entity(location, row, links, None)))
    return out


def parse_body(raw: bytes) -> Any:
    if not raw.strip():
        raise InvalidBody("the request has no body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise InvalidBody(f"not valid JSON ({e})") from None
