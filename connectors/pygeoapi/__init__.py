"""Any pygeoapi feature provider as a source: `connector: pygeoapi` with a provider block.

The block is the one pygeoapi's own configuration has under `providers:` (`name` a plugin
name such as CSV, GeoJSON, PostgreSQL, SensorThings, Elasticsearch, OGR, or a dotted class
path; `data`, `id_field`, `table`, `geometry`, `options` …): it reaches the provider's
constructor through pygeoapi's own plugin loader, as in pygeoapi, once per process (pygeoapi
builds one per request). A relative file path in `data` is read against the configuration's
folder.

The provider is synchronous: each call runs in the source's bounded thread pool within
`timeout` (connectors/pygeoapi/pool.py). Fields come from `get_fields()`; a query is handed
to `query()` only as far as the provider is known to evaluate it exactly
(connectors/pygeoapi/providers.py): an unknown provider gets offset and limit, the gateway
does the rest. numberMatched is passed on only where exact. `get(id)` is `provider.get()`.
Provider exceptions become the project's errors (connectors/pygeoapi/errors.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from shapely.geometry import shape

from connectors.base import (
    CRS84,
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    FieldInfo,
    FieldType,
    QueryResult,
    Record,
    SourceQuery,
)
from connectors.crs import is_crs84, to_geojson, transform_geometries
from connectors.errors import SourceError
from connectors.pygeoapi import query as pq
from connectors.pygeoapi.errors import ItemMissing, NoData
from connectors.pygeoapi.filterq import OPS, FilterBuilder, column_kinds
from connectors.pygeoapi.pool import ProviderPool
from connectors.pygeoapi.providers import UNKNOWN, Traits, is_sql, traits_of

log = logging.getLogger("twinbridge.sources")


class ProviderBlock(BaseModel):
    """pygeoapi's provider definition; keys not named here pass through to the provider."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(
        description="pygeoapi plugin name (CSV, GeoJSON, PostgreSQL, MySQL, SensorThings, "
        "Elasticsearch, OGR, TinyDB …) or a dotted class path (my_package.MyProvider)."
    )
    type: Literal["feature"] = Field("feature", description="Only feature providers.")
    data: str | dict[str, Any] = Field(
        description="As pygeoapi reads it: a file (relative to this configuration's "
        "folder), a URL, or connection parameters (PostgreSQL: host, port, dbname, user, "
        "password: ${PGPASSWORD}, search_path)."
    )
    id_field: str | None = Field(None, description="The field holding each feature's id.")
    table: str | None = Field(None, description="SQL providers: the table or view.")
    geom_field: str | None = Field(None, description="SQL providers: the geometry column.")
    geometry: dict[str, str] | None = Field(
        None, description="CSV provider: {x_field, y_field} naming the coordinate columns."
    )
    storage_crs: str | None = Field(
        None,
        description="The CRS the provider stores geometries in (default CRS84); others are "
        "moved to CRS84 here, and bbox and spatial filters then stay in the gateway.",
    )
    options: dict[str, Any] | None = Field(None, description="Provider options, as in pygeoapi.")

    @field_validator("name")
    @classmethod
    def _known_plugin(cls, value: str) -> str:
        from pygeoapi.plugin import PLUGINS

        if "." not in value and value not in PLUGINS["provider"]:
            known = ", ".join(sorted(PLUGINS["provider"]))
            raise ValueError(
                f"pygeoapi has no provider '{value}' (known: {known}; or a dotted class path)"
            )
        return value


class PygeoapiConnector(FeatureConnector):
    class Config(ConnectorConfig):
        provider: ProviderBlock = Field(description="The pygeoapi provider definition.")
        threads: int = Field(
            4,
            ge=1,
            le=64,
            description="Worker threads calling the provider (it blocks); also the number "
            "of calls the gateway lets the source have at once.",
        )
        timeout: float = Field(
            10.0,
            gt=0,
            description="Seconds one provider call may take, waiting for a thread included "
            "(504). A hung call keeps its thread until it returns; the pool never grows.",
        )
        page_size: int = Field(
            1000,
            ge=1,
            le=100_000,
            description="Most features asked of the provider per call when the gateway reads "
            "many (a residual filter or sort).",
        )
        count: Literal["auto", "hits", "off"] = Field(
            "auto",
            description="numberMatched: 'auto' where the provider is known to count exactly "
            "(CSV, GeoJSON, PostgreSQL, MySQL, SensorThings); 'hits' trusts resulttype=hits of "
            "any provider; 'off' never.",
        )
        pushdown: Literal["auto", "off"] = Field(
            "auto",
            description="'auto': hand the provider bbox, filters and sorting where it is "
            "known to evaluate them exactly; 'off': offset and limit only.",
        )

    config: Config

    def __init__(self, config: ConnectorConfig, *, base_dir: Path, name: str) -> None:
        super().__init__(config, base_dir=base_dir, name=name)
        c = self.config
        self.pool = ProviderPool(name, c.threads, c.timeout)
        self.provider: Any = None
        self._opening = asyncio.Lock()
        self._dropped: set[str] = set()  # fields whose values were left out (logged once)
        self._fields: tuple[FieldInfo, ...] = ()
        self._traits: Traits = UNKNOWN
        self._builder: FilterBuilder | None = None
        self._sortables: frozenset[str] = frozenset()
        self._caps = Capabilities(paging=True)
        self._results_count = False  # every results answer's numberMatched is exact
        self._crs = self.config.provider.storage_crs or CRS84

    # --- contract ---------------------------------------------------------------------

    async def open(self) -> None:
        if self.provider is not None:
            return
        async with self._opening:  # one construction, however many requests arrive first
            if self.provider is not None:
                return
            provider = await self.pool.run(_load, self.provider_def())
            fields = _fields(await self.pool.run(provider.get_fields))
            id_field = self.config.provider.id_field
            if id_field is not None and all(f.name != id_field for f in fields):
                fields += (FieldInfo(id_field, "string"),)  # records carry it (query.record)
            self._fields = fields
            self.provider = provider
            self._declare()

    async def close(self) -> None:
        self.pool.close()

    def concurrency(self) -> int:
        return self.config.threads

    async def describe(self) -> Description:
        await self.open()
        return Description(
            fields=self._fields,
            storage_crs=self._crs,
            id_field=self.config.provider.id_field,
        )

    def capabilities(self) -> Capabilities:
        return self._caps

    async def query(self, q: SourceQuery) -> QueryResult:
        await self.open()
        p = pq.plan(q, self._traits, self._builder, self.config.provider.id_field)
        number = None
        if q.want_count and self._caps.count:
            number = await self._count(p, q)
        if q.limit == 0:
            return QueryResult(_none(), number)
        first = await self._page(p, q.offset, _take(q.limit, self.config.page_size))
        if q.want_count and number is None and self._caps.count and self._results_count:
            number = pq.matched(first)
        return QueryResult(self._records(p, q, first), number)

    async def get(self, record_id: str) -> Record | None:
        await self.open()
        identifier = self._typed_id(record_id)
        if identifier is None:
            return None
        try:
            feature = await self.pool.run(self.provider.get, identifier)
        except (ItemMissing, NoData):
            return None
        if feature is None:
            return None
        return pq.record(feature, None, self.config.provider.id_field)

    async def problems(self) -> list[str]:
        await self.open()
        found = []
        if not self._fields:
            found.append(f"{self.name}: the pygeoapi provider names no fields (get_fields())")
        return found

    # --- set-up -----------------------------------------------------------------------

    def provider_def(self) -> dict[str, Any]:
        """The provider block as pygeoapi's constructor takes it (paths made absolute)."""
        block = self.config.provider.model_dump(exclude_none=True)
        data = block["data"]
        if isinstance(data, str) and "://" not in data and not Path(data).is_absolute():
            block["data"] = str(self.base_dir / data)
        return block

    def _declare(self) -> None:
        """Capabilities from the provider's traits, its columns and the configuration."""
        c = self.config
        traits = traits_of(self.provider) if c.pushdown == "auto" else UNKNOWN
        in_84 = is_crs84(self._crs)
        if is_sql(self.provider) and traits.filterq:
            geom = getattr(self.provider, "geom", None) if in_84 else None
            names = frozenset(c.name for c in self.provider.table_model.__table__.columns)
            self._builder = FilterBuilder(column_kinds(self.provider), geom, names)
        if traits.sortby and is_sql(self.provider):
            self._sortables = _sortables(self.provider, c.provider.id_field)
        self._traits = traits
        count = {"auto": traits.count is not None, "hits": True, "off": False}[c.count]
        self._results_count = c.count == "auto" and traits.count == "results"
        builder = self._builder
        self._caps = Capabilities(
            paging=True,
            count=count,
            bbox=traits.bbox and in_84 and builder is not None,
            filter_ops=OPS if builder is not None else frozenset(),
            filter_test=builder.pushable if builder is not None else None,
            sort=bool(self._sortables),
            sortables=self._sortables or None,
            projection=True,
        )

    def _typed_id(self, record_id: str) -> Any:
        """The id as the provider's id field holds it (None: it cannot be one)."""
        id_field = self.config.provider.id_field
        kind = next((f.type for f in self._fields if f.name == id_field), "string")
        if kind != "integer":
            return record_id
        text = record_id.strip()
        if not text.lstrip("-").isdigit() or text != record_id or len(text) > 19:
            return None
        return int(text)

    # --- reading ----------------------------------------------------------------------

    def _note_dropped(self, names: list[str]) -> None:
        """Values of a type the gateway cannot read were left out of their items (the page
        is served without them): each counted, each field logged once."""
        for name in names:
            self.left_out(name, "unreadable type")
        new = set(names) - self._dropped
        if new:
            self._dropped |= new
            log.warning(
                "source=%s left out values of unreadable types: %s",
                self.name,
                ", ".join(sorted(new)),
            )

    async def _count(self, p: pq.Plan, q: SourceQuery) -> int | None:
        """An exact count from `resulttype=hits`, unless the first page will carry it."""
        if self._results_count and q.limit != 0:
            return None
        doc = await self._call(p, 0, 0, resulttype="hits")
        found = doc.get("numberMatched")
        return found if isinstance(found, int) and not isinstance(found, bool) else None

    async def _page(self, p: pq.Plan, offset: int, limit: int) -> dict[str, Any]:
        return await self._call(p, offset, limit)

    async def _call(self, p: pq.Plan, offset: int, limit: int, **more: Any) -> dict[str, Any]:
        try:
            doc = await self.pool.run(
                self.provider.query, offset=offset, limit=limit, **p.kwargs, **more
            )
        except NoData:
            return {"type": "FeatureCollection", "features": [], "numberMatched": 0}
        if not isinstance(doc, dict) or not isinstance(doc.get("features", []), list):
            raise SourceError(f"{self.name}: the pygeoapi provider answered no FeatureCollection")
        return doc

    async def _records(
        self, p: pq.Plan, q: SourceQuery, first: dict[str, Any]
    ) -> AsyncIterator[Record]:
        """The first page, then further calls of `page_size` until `limit` is reached or
        the provider runs out (a short page; or numberMatched, where it is exact)."""
        id_field, size, crs = self.config.provider.id_field, self.config.page_size, self._crs
        total = pq.matched(first) if self._results_count else None
        doc, offset, left = first, q.offset, q.limit
        asked = _take(left, size)
        while True:
            features = doc.get("features") or []
            if left is not None:
                features = features[:left]
                left -= len(features)
            dropped: list[str] = []
            for record in _records(features, crs, p.fields, id_field, dropped):
                yield record
            if dropped:
                self._note_dropped(dropped)
            offset += len(features)
            done = len(features) < asked if total is None else offset >= total
            if not features or done or (left is not None and left <= 0):
                return
            asked = _take(left, size)
            doc = await self._page(p, offset, asked)


def _take(limit: int | None, page_size: int) -> int:
    return page_size if limit is None else min(limit, page_size)


async def _none() -> AsyncIterator[Record]:
    return
    yield


def _load(provider_def: dict[str, Any]) -> Any:
    """pygeoapi's own loader (plugin names or dotted class paths), in a worker thread."""
    from pygeoapi.plugin import InvalidPluginError, load_plugin

    try:
        return load_plugin("provider", provider_def)
    except InvalidPluginError as e:
        raise SourceError(f"pygeoapi provider '{provider_def['name']}': {e}") from e


_TYPES: dict[str, FieldType] = {
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "object": "json",
    "array": "json",
}
_FORMATS: dict[str, FieldType] = {"date": "date", "date-time": "datetime"}


def _fields(found: Any) -> tuple[FieldInfo, ...]:
    """get_fields() ({name: {type, format?, title?}}) as FieldInfo."""
    out = []
    for name, info in (found or {}).items():
        info = info if isinstance(info, dict) else {}
        kind = _TYPES.get(str(info.get("type")), "string")
        if kind == "string":
            kind = _FORMATS.get(str(info.get("format")), "string")
        title = info.get("title")
        out.append(FieldInfo(str(name), kind, title if isinstance(title, str) else None))
    return tuple(out)


def _sortables(provider: Any, id_field: str | None) -> frozenset[str]:
    """Columns PostgreSQL orders as the gateway does: NOT NULL, numbers (nulls sort first
    descending there, and text by the database collation)."""
    kinds = column_kinds(provider)
    columns = provider.table_model.__table__.columns
    names = {
        c.name
        for c in columns
        if not c.nullable and kinds.get(c.name) in ("integer", "bigint", "float8")
    }
    return frozenset(names | ({id_field} if id_field in kinds else set()))


def _records(
    features: list[Any],
    crs: str,
    fields: tuple[str, ...] | None,
    id_field: str | None,
    dropped: list[str],
) -> list[Record]:
    records = [pq.record(f, fields, id_field, dropped) for f in features]
    if records and not is_crs84(crs):
        geoms = [shape(r["geometry"]) if r["geometry"] else None for r in records]
        for r, g in zip(records, to_geojson(transform_geometries(geoms, crs)), strict=True):
            r["geometry"] = g
    return records


__all__ = ["ProviderBlock", "PygeoapiConnector"]
