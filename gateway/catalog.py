"""The catalog: tenants, their collections (each one source behind a mapping), and the
federated collections that unite every tenant's collection of one profile.

Built once at start-up from the configuration; connectors are opened once per process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

import profiles
from connectors.base import CRS84, Description, FeatureConnector, Record, SourceVersion
from gateway.breaker import Breaker
from gateway.config import CollectionConfig, ConfigError, LoadedConfig, format_validation_error
from gateway.errors import UpstreamFailed
from gateway.mapping import Feature, Mapper
from gateway.mapping.types import property_types
from gateway.metrics import count_left_out
from gateway.planning import planner
from gateway.query.budget import Budget
from gateway.query.memory import MemoryIndex
from gateway.query.model import BBox, Page, PageStream, Query
from gateway.registry import connector_class
from gateway.resilience import SourceGuard, effective
from gateway.streaming import GuardedStream

RELOAD_CHECK_SECONDS = 1.0
log = logging.getLogger("twinbridge.catalog")


@dataclass
class Extent:
    bbox: BBox | None = None
    temporal: tuple[datetime | None, datetime | None] | None = None


class CollectionSource:
    """One tenant collection: a connector, a mapping, and (for files) an in-memory index."""

    def __init__(self, tenant: str, cid: str, cfg: CollectionConfig, loaded: LoadedConfig) -> None:
        self.tenant = tenant
        self.id = cid
        self.cfg = cfg
        self.name = f"{tenant}/{cid}"
        self.profile = profiles.get(cfg.profile) if cfg.profile else None
        if self.profile is not None and self.profile.kind != "features":
            raise LookupError(
                f"'{cfg.profile}' is a {self.profile.kind} profile; a collection needs a "
                "features profile (a sensorthings one belongs on a sensorthings.sync source)"
            )
        if self.profile is not None and cfg.profile_version not in (None, self.profile.version):
            raise LookupError(
                f"the mapping was written for {cfg.profile} {cfg.profile_version}, but "
                f"{self.profile.version} is installed: bring the mapping up to it and declare "
                f"that version, or install {cfg.profile_version} on TWINBRIDGE_PROFILE_PATH"
            )
        self.title = cfg.title or cid
        self.description = cfg.description or ""
        self.temporal_property = cfg.temporal_property or (
            self.profile.temporal_property if self.profile else None
        )
        limits = loaded.config.server.query
        self.budget = Budget(limits.scan_rows, limits.scan_seconds, self.name)
        order = list(self.profile.properties()) if self.profile else None
        name = self.name
        self.mapper = Mapper(
            cfg.mapping, order, lambda f, problem: count_left_out(name, f, problem)
        )
        self.connector = _build_connector(cfg, loaded, self.name)
        resilience = effective(loaded.config.server.resilience, cfg.resilience)
        self.guard = SourceGuard(self.name, resilience, self.connector.concurrency())
        self.description_: Description | None = None
        self._memory: MemoryIndex | None = None
        self._version: object = None
        self._checked = 0.0
        self._reload = asyncio.Lock()
        self._writes = 0  # writes by this process, to tell a load that missed one
        self._opening = asyncio.Lock()
        self._opened = False
        self.open_error: str | None = None  # for clients: names the source only
        self.open_detail: str | None = None  # for the operator (config check, log)

    @property
    def breaker(self) -> Breaker:
        return self.guard.breaker

    @property
    def in_memory(self) -> bool:
        return self.connector.in_memory()

    async def open(self) -> None:
        """Open at start-up; a source that fails stays in the catalog and is retried on use,
        so one broken city does not keep the others offline."""
        try:
            await self._guard(self._open())
        except UpstreamFailed as e:
            self.open_error, self.open_detail = e.description, e.detail
            log.warning("source %s failed to open: %s", self.name, e.detail)

    async def _open(self) -> None:
        async with self._opening:
            if self._opened:
                return
            await self.connector.open()
            if self.in_memory:
                await self._load()
            else:
                self.description_ = await self.connector.describe()
            self._opened, self.open_error, self.open_detail = True, None, None

    async def _ready(self) -> None:
        if not self._opened:
            await self._guard(self._open())

    async def close(self) -> None:
        await self.connector.close()

    async def _load(self) -> None:
        connector = self.connector
        generation = self._writes

        def build() -> tuple[object, Description, MemoryIndex]:
            version = connector.version()
            description, records = connector.load()
            features = [self.mapper(r) for r in records]
            return version, description, MemoryIndex(features, self.temporal_property)

        self._version, self.description_, self._memory = await asyncio.to_thread(build)
        self._checked = time.monotonic()
        if self._writes != generation:  # a write landed during the load: it may be missing
            self._mark_stale()

    async def _fresh_memory(self) -> MemoryIndex:
        """The index, reloaded when the file changed (checked at most once a second)."""
        now = time.monotonic()
        if self._memory is None or now - self._checked > RELOAD_CHECK_SECONDS:
            async with self._reload:
                if self._memory is None or time.monotonic() - self._checked > RELOAD_CHECK_SECONDS:
                    try:
                        changed = self.connector.version() != self._version
                    except OSError as e:
                        raise UpstreamFailed(self.name, f"file not readable: {e.strerror}") from e
                    if changed or self._memory is None:
                        await self._load()  # sets _checked, or leaves it stale (a write)
                    else:
                        self._checked = time.monotonic()
        assert self._memory is not None
        return self._memory

    async def _guard(self, work: Any) -> Any:
        return await self.guard.call(work)

    def writable(self) -> bool:
        """Whether the source takes writes (Part 4): a connector knows once it is open."""
        return self._opened and self.connector.writable()

    async def ready(self) -> None:
        """Opened (a source that failed to open at start-up is tried again)."""
        await self._ready()

    def source_types(self) -> dict[str, str]:
        """The source's field names and types, as described when it opened."""
        return self._source_fields()

    def written(self) -> None:
        """This process wrote to the source: an in-memory index reloads at its next use,
        whatever the file's modification time says (also when a load running now began
        before the write: it marks the index stale again as it ends)."""
        self._writes += 1
        self._mark_stale()

    def _mark_stale(self) -> None:
        self._version = object()
        self._checked = float("-inf")

    async def data_version(self) -> SourceVersion | None:
        """The version of the data this source answers from now, read before the data
        (so what a client gets under it is never older); None: unknown or not open.
        An in-memory source's is the loaded one, whatever the file does meanwhile."""
        if not self._opened:
            return None
        if not self.in_memory:
            return await self.guard.side_call(self.connector.source_version())
        if self._memory is None or time.monotonic() - self._checked > RELOAD_CHECK_SECONDS:
            await self._guard(self._fresh_memory())  # a check is due: perhaps a reload
        v = self._version
        return v if isinstance(v, SourceVersion) else SourceVersion(repr(v))

    async def items(self, query: Query) -> Page:
        await self._ready()
        if self.in_memory:
            return (await self._guard(self._fresh_memory())).page(query, self.budget)
        return await self._guard(
            planner.run(
                self.connector,
                self.mapper,
                query,
                self.temporal_property,
                self._source_fields(),
                self.budget,
            )
        )

    async def stream(self, query: Query) -> PageStream:
        """A large page as a stream: read from the connector under the guard, which holds
        the source's slot until the stream ends. What the gateway evaluates itself (a
        residual filter, a sort the source cannot do) and in-memory sources answer as a
        list, handed out in batches."""
        await self._ready()
        if not self.in_memory:
            opening = planner.pushed_stream(
                self.connector, self.mapper, query, self._source_fields()
            )
            if opening is not None:
                return SourceStream(await self.guard.stream(opening))
        return PageStream.of(await self.items(query))

    async def count(self, query: Query) -> int:
        await self._ready()
        if self.in_memory:
            memory = await self._guard(self._fresh_memory())
            return len(memory.select(query, self.budget))
        return await self._guard(
            planner.count(
                self.connector,
                self.mapper,
                query,
                self.temporal_property,
                self._source_fields(),
                self.budget,
            )
        )

    async def cheap_count(self, query: Query) -> int | None:
        """The exact count when it costs little (always for in-memory sources), else None."""
        await self._ready()
        if self.in_memory:
            return await self.count(query)
        return await self._guard(
            planner.cheap_count(self.connector, self.mapper, query, self._source_fields())
        )

    def _source_fields(self) -> dict[str, str]:
        described = self.description_.fields if self.description_ else ()
        return {f.name: f.type for f in described}

    async def item(self, feature_id: str) -> Feature | None:
        await self._ready()
        if self.in_memory:
            return (await self._guard(self._fresh_memory())).get(feature_id)
        record = await self._guard(self.connector.get(feature_id))
        return None if record is None else self.mapper(record)

    def extent(self) -> Extent:
        if self._memory is not None:
            return Extent(self._memory.bbox, self._memory.temporal_extent)
        bbox = self.description_.bbox if self.description_ else None
        return Extent(bbox, None)

    @property
    def storage_crs(self) -> str:
        return self.description_.storage_crs if self.description_ else CRS84

    def fields(self) -> dict[str, dict[str, Any]]:
        """JSON Schema properties: the profile's, else the mapping's (typed from its rules and
        the source's fields), else the source's own fields."""
        if self.profile:
            return self.profile.properties()
        described = self.description_.fields if self.description_ else ()
        if not self.mapper.identity:
            source_types = {f.name: f.type for f in described}
            typed = property_types(self.mapper.sources, source_types)
            return {name: _json_type(kind) for name, kind in typed.items()}
        return {f.name: _json_type(f.type) for f in described}

    def queryables(self) -> list[str]:
        if self.profile:
            return list(self.profile.queryables)
        return [name for name, schema in self.fields().items() if _scalar(schema)]

    def sortables(self) -> list[str]:
        if self.profile:
            return list(self.profile.sortables)
        return self.queryables()

    @property
    def geometry_type(self) -> str | None:
        if self.profile:
            return self.profile.geometry_type
        return self.description_.geometry_type if self.description_ else None


class SourceStream(PageStream):
    """A source's page as it streams: its features in batches, then whether there is more
    and where the next page starts (the position of the last feature)."""

    def __init__(self, guarded: GuardedStream[planner.Streamed, tuple[Record, Feature]]) -> None:
        source = guarded.source
        assert source is not None
        super().__init__(source.number_matched)
        self._guarded = guarded

    async def batches(self) -> AsyncIterator[list[Feature]]:
        guarded = self._guarded
        source = guarded.source
        assert source is not None
        try:
            while (batch := await guarded.next_batch()) is not None:
                self.positions = source.positions([record for record, _ in batch])
                yield [feature for _, feature in batch]
        finally:
            await guarded.aclose()
        self.has_next = source.has_next
        if self.has_next and self.positions:
            self.resume = self.positions[-1]

    async def aclose(self) -> None:
        await self._guarded.aclose()


SCALAR = ("string", "integer", "number", "boolean")


def _scalar(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    return any(t in SCALAR for t in types)


def _json_type(field_type: str) -> dict[str, Any]:
    if field_type in ("date", "datetime"):
        return {"type": "string", "format": "date" if field_type == "date" else "date-time"}
    if field_type == "json":
        return {}
    return {"type": field_type}


def _build_connector(cfg: CollectionConfig, loaded: LoadedConfig, name: str) -> FeatureConnector:
    tenant, cid = name.split("/")
    where = f"tenants.{tenant}.collections.{cid}.source"
    try:
        cls = connector_class(cfg.source.connector)
    except (LookupError, TypeError) as e:
        raise ConfigError(f"{loaded.origin}: {where}.connector: {e}") from None
    try:
        config = cls.Config.model_validate(cfg.source.options())
    except ValidationError as e:
        text = format_validation_error(loaded.origin, e).splitlines()
        lines = [text[0]] + [f"  {where}.{t.strip()}" for t in text[1:]]
        raise ConfigError("\n".join(lines)) from None
    connector = cls(config, base_dir=loaded.base_dir, name=name)
    connector.quality_sink = count_left_out
    return connector


@dataclass
class Tenant:
    id: str
    title: str
    description: str
    collections: dict[str, CollectionSource] = field(default_factory=dict)


class Catalog:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.settings = loaded.config.server
        self.tenants: dict[str, Tenant] = {}
        for tid, tcfg in loaded.config.tenants.items():
            tenant = Tenant(tid, tcfg.title or tid, tcfg.description or "")
            for cid, ccfg in tcfg.collections.items():
                try:
                    tenant.collections[cid] = CollectionSource(tid, cid, ccfg, loaded)
                except LookupError as e:  # unknown profile
                    where = f"tenants.{tid}.collections.{cid}.profile"
                    raise ConfigError(f"{loaded.origin}: {where}: {e}") from None
            self.tenants[tid] = tenant

    def sources(self) -> list[CollectionSource]:
        return [c for t in self.tenants.values() for c in t.collections.values()]

    def by_profile(self) -> dict[str, list[CollectionSource]]:
        groups: dict[str, list[CollectionSource]] = {}
        for source in self.sources():
            if source.profile:
                groups.setdefault(source.profile.id, []).append(source)
        return groups

    async def open(self) -> None:
        await asyncio.gather(*(s.open() for s in self.sources()))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sources()), return_exceptions=True)
