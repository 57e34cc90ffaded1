"""An NGSI-v2 context broker (FIWARE Orion) as a source: the entities of one type.

Records are the entities flattened at the edge (connectors/paths.py). In the default
`normalized` representation each attribute keeps its NGSI shape, so fields are
`temperature.value`, `temperature.type`, `temperature.metadata.unitCode.value`,
`address.value.streetAddress` …: units and observation times stay reachable. With
`representation: keyValues` fields are the plain attribute names (`temperature`,
`address.streetAddress`) and metadata is gone. Either way `FieldInfo.path` is the `q` path
of a field (`temperature` for `temperature.value`); metadata fields have none and are
filtered in the gateway. The entity type is the property `type`; the location attribute
becomes the geometry (not a property).

Pushed down: `q` and one geo-query for what connectors/ngsi/v2q.py can express exactly,
`bbox` (as `georel=intersects&geometry=box`, coords lat,lon), `orderBy` on the fields named
in `sortables` (always ending with `id`, so that pages of one query never overlap),
paging (`limit` ≤ 1000 per request, pages until the gateway's limit), and `options=count`
(Fiware-Total-Count) for an exact numberMatched. Where two geo-queries meet (a bbox and a
spatial filter), the broker gets one and this connector tests the rest on the records it
reads, paging itself (numberMatched is then left out).

A value whose type is not its field's (a string where numbers are described) is left out
of the record and counted (`dropped_values`, and the data-quality counter
`twinbridge_data_quality_total`, through FeatureConnector.left_out): a page never fails for
one bad value.

With `writable: true` the connector also creates, replaces, updates and deletes entities
(connectors/ngsi/v2write.py), writing back the NGSI types and metadata it reads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any, Literal

import shapely
from pydantic import Field, model_validator
from shapely.geometry import shape

from connectors.base import (
    CRS84,
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    QueryResult,
    Record,
    SourceQuery,
)
from connectors.errors import SourceError
from connectors.filters import Expr, Unsupported, conjuncts
from connectors.ngsi import v2client, v2q
from connectors.ngsi.v2records import RecordReader, describe_fields
from connectors.ngsi.v2write import V2Writes
from connectors.remote.http import HttpEndpoint, HttpSettings
from connectors.remote.metacache import MetadataCache

log = logging.getLogger("twinbridge.ngsi")


class NgsiV2Connector(V2Writes, FeatureConnector):
    class Config(ConnectorConfig):
        url: str = Field(
            description="The broker's root URL (before /v2), e.g. http://orion:1026.",
            pattern=r"^https?://",
        )
        entity_type: str = Field(
            description="The NGSI entity type served, e.g. AirQualityObserved."
        )
        id_pattern: str | None = Field(
            None, description="Only entities whose id matches this regex (`idPattern`)."
        )
        service: str | None = Field(
            None, description="Fiware-Service (tenant) header; Orion lower-cases it."
        )
        service_path: str | None = Field(
            None,
            description="Fiware-ServicePath header, e.g. /rotterdam/# (a subtree) or a comma "
            "list of paths; unset: the whole tenant (/#).",
        )
        representation: Literal["normalized", "keyValues"] = Field(
            "normalized",
            description="'normalized': fields are attribute paths into the NGSI shape "
            "(`temperature.value`, `temperature.metadata.unitCode.value`); 'keyValues': "
            "plain attribute names, without metadata.",
        )
        location_attribute: str | None = Field(
            None,
            description='Attribute holding the location (geo:json, geo:point "lat, lon", or '
            "a GeoJSON value); unset: the first geo:json/geo:point attribute, else `location`.",
        )
        sortables: list[str] = Field(
            default_factory=list,
            description="Fields the broker may sort by (orderBy): only fields every entity "
            "has with values of one type, as the broker puts missing values first and sorts "
            "by type before value, the gateway nulls last.",
        )
        filter: Literal["auto", "off"] = Field(
            "auto", description="'auto': push what `q` and geo-queries express exactly."
        )
        count: bool = Field(True, description="Ask for Fiware-Total-Count (exact numberMatched).")
        page_size: int = Field(
            1000, ge=1, le=1000, description="Most entities per broker request (Orion: ≤ 1000)."
        )
        sample_size: int = Field(
            100, ge=1, le=1000, description="Entities read to describe the fields and types."
        )
        cache_ttl: float = Field(
            300.0, gt=0, description="Seconds the sampled description is trusted."
        )
        http: HttpSettings = Field(
            default_factory=HttpSettings,
            description="Connection settings: headers (e.g. X-Auth-Token: ${ORION_TOKEN}), "
            "timeouts, pool, size cap, retries.",
        )
        writable: bool = Field(
            False,
            description="Allow creating, replacing, updating and deleting entities through "
            "the gateway (OGC API – Features Part 4); the broker account must be allowed to "
            "write. Needs `service_path` to be one path (no # or list), or unset (`/`).",
        )

        @model_validator(mode="after")
        def _one_write_path(self) -> NgsiV2Connector.Config:
            path = self.service_path or ""
            if self.writable and ("#" in path or "," in path):
                raise ValueError(
                    "writable: service_path must be one path without '#' or ',' "
                    "(a broker writes into exactly one)"
                )
            return self

    config: Config

    def __init__(self, config: ConnectorConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        c = self.config
        self.endpoint = HttpEndpoint(c.url, c.http, name=self.name)
        self.headers = v2client.service_headers(c.service, c.service_path)
        self.cache = MetadataCache(ttl=c.cache_ttl)
        self.reader = RecordReader(c.representation, c.location_attribute, self.left_out)
        self._targets: dict[str, v2q.Target] = {}
        self._description: Description | None = None
        self._caps: Capabilities | None = None

    @property
    def dropped_values(self) -> int:
        return self.reader.dropped

    # --- contract ---------------------------------------------------------------------

    async def open(self) -> None:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        await self.describe()

    async def close(self) -> None:
        await self.endpoint.close()

    def concurrency(self) -> int:
        return self.config.http.max_connections

    async def describe(self) -> Description:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        found = await self.cache.get("describe", self._describe, shared_as=Description)
        if found is not self._description:  # a new sample: new field paths and types
            self._description = found
            self._targets = {
                f.name: v2q.Target(f.path, f.type) for f in found.fields if f.path is not None
            }
            self.reader.types = {f.name: f.type for f in found.fields}
            self._caps = None
        return found

    def capabilities(self) -> Capabilities:
        """Kept until the description changes: the planner keys its cache of filter
        splits by these capabilities (their test included)."""
        if self._caps is None:
            self._caps = self._declare()
        return self._caps

    def _declare(self) -> Capabilities:
        targets = self._targets
        filtering = self.config.filter == "auto" and self._description is not None

        def test(expr: Expr) -> bool:
            return v2q.pushable(expr, targets)

        return Capabilities(
            bbox=True,
            paging=True,
            count=self.config.count,
            filter_ops=v2q.OPS if filtering else frozenset(),
            filter_test=test if filtering else None,
            sort=bool(self.config.sortables),
            sortables=frozenset(self.config.sortables),
        )

    async def query(self, q: SourceQuery) -> QueryResult:
        await self.describe()
        params, local = self._params(q)
        if local is not None:
            return QueryResult(self._local(params, local, q))
        total: int | None = None
        first: list[dict[str, Any]] = []
        size, asked = self.config.page_size, 0
        if q.limit != 0 or q.want_count:
            asked = size if q.limit is None else max(1, min(size, q.limit))
            page_params = {**params, "offset": str(q.offset), "limit": str(asked)}
            if q.want_count and self.config.count:
                page_params["options"] = _options(params, "count")
            first, total = await v2client.list_entities(self.endpoint, page_params, self.headers)
        matched = total if q.want_count and self.config.count else None
        return QueryResult(self._records(params, first, asked, q), matched)

    async def get(self, record_id: str) -> Record | None:
        await self.describe()
        if self.config.id_pattern and not re.search(self.config.id_pattern, record_id):
            return None  # the broker would serve it, but this source does not hold it
        params = {"type": self.config.entity_type}
        if self.config.representation == "keyValues":
            params["options"] = "keyValues"
        try:
            entity = await v2client.get_entity(self.endpoint, record_id, self.headers, params)
        except SourceError as e:
            if "TooManyResults" in str(e):
                raise SourceError(f"{self.name}: the id {record_id[:60]} is ambiguous") from e
            raise
        return None if entity is None else self.reader.record(entity)

    async def problems(self) -> list[str]:
        found = await self.describe()
        if not found.fields:
            return [f"{self.config.url}: no entities of type {self.config.entity_type}"]
        return []

    # --- internals --------------------------------------------------------------------

    async def _describe(self) -> Description:
        params = {"type": self.config.entity_type, "limit": str(self.config.sample_size)}
        if self.config.id_pattern:
            params["idPattern"] = self.config.id_pattern
        if self.config.representation == "keyValues":
            params["options"] = "keyValues"
        sample, _ = await v2client.list_entities(self.endpoint, params, self.headers)
        fields, geometry_type = describe_fields(sample, self.reader)
        return Description(fields=fields, geometry_type=geometry_type, storage_crs=CRS84)

    def _params(self, q: SourceQuery) -> tuple[dict[str, str], list[Any] | None]:
        """The broker's parameters, and what must be tested here (None: nothing)."""
        c = self.config
        params = {"type": c.entity_type}
        if c.id_pattern:
            params["idPattern"] = c.id_pattern
        if c.representation == "keyValues":
            params["options"] = "keyValues"
        statements: list[str] = []
        geos: list[v2q.GeoParams] = []
        local: list[Any] = []
        if q.bbox is not None:
            if q.bbox[0] <= q.bbox[2]:
                geos.append(v2q.bbox_params(q.bbox))
            local.append(("bbox", q.bbox))
        for term in conjuncts(q.filter) if q.filter is not None else []:
            try:
                if v2q.is_geo(term):
                    geos.append(v2q.geo_params(term))
                    local.append(("filter", term))
                else:
                    statements.extend(v2q.statements(term, self._targets))
            except Unsupported as e:  # the planner asked only for what the test accepted
                raise SourceError(f"{self.name}: a filter the broker cannot take: {e}") from e
        if statements:
            params["q"] = ";".join(statements)
        if geos:
            params.update(geos[0].params())
        # the entity id breaks ties: Orion's order is not stable otherwise, and pages of one
        # query must not overlap (without sortby: id order, not creation order)
        keys = [("" if asc else "!") + self._q_name(n) for n, asc in q.sortby]
        params["orderBy"] = ",".join([*keys, "id"])
        needs_local = len(geos) > 1 or (q.bbox is not None and q.bbox[0] > q.bbox[2])
        return params, (local if needs_local else None)

    def _q_name(self, field: str) -> str:
        target = self._targets.get(field)
        return target.path if target is not None else field

    async def _records(
        self, params: dict[str, str], page: list[dict[str, Any]], asked: int, q: SourceQuery
    ) -> AsyncIterator[Record]:
        """The first page, then the next ones (offset/limit) until the gateway's limit or
        a short page."""
        served, offset, size = 0, q.offset, self.config.page_size
        while q.limit != 0:
            for entity in page:
                yield self.reader.record(entity)
            served += len(page)
            if len(page) < asked or (q.limit is not None and served >= q.limit):
                return
            offset += len(page)
            asked = size if q.limit is None else min(size, q.limit - served)
            page_params = {**params, "offset": str(offset), "limit": str(asked)}
            page, _ = await v2client.list_entities(self.endpoint, page_params, self.headers)

    async def _local(
        self, params: dict[str, str], tests: list[Any], q: SourceQuery
    ) -> AsyncIterator[Record]:
        """Reads every entity the broker selects and tests the rest of the geo-queries
        here, paging itself."""
        keep = [_local_test(kind, value) for kind, value in tests]
        skipped, served = 0, 0
        async for entity in v2client.iter_entities(
            self.endpoint, params, self.headers, page_size=self.config.page_size
        ):
            record = self.reader.record(entity)
            if not all(test(record.get("geometry")) for test in keep):
                continue
            if skipped < q.offset:
                skipped += 1
                continue
            if q.limit is not None and served >= q.limit:
                return
            yield record
            served += 1


def _options(params: dict[str, str], extra: str) -> str:
    return ",".join(o for o in (params.get("options"), extra) if o)


def _local_test(kind: str, value: Any) -> Any:
    if kind == "bbox":
        west, south, east, north = value
        area = (
            shapely.box(west, south, east, north)
            if west <= east
            else shapely.union(
                shapely.box(west, south, 180.0, north), shapely.box(-180.0, south, east, north)
            )
        )
    else:
        area = v2q.literal_geometry(value)
    relation = "s_disjoint" if kind != "bbox" and value.op == "s_disjoint" else "s_intersects"

    def test(geometry: Any) -> bool:
        if not geometry:
            return False
        try:
            found = shape(geometry)
        except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
            return False
        return bool(area.disjoint(found) if relation == "s_disjoint" else area.intersects(found))

    return test


__all__ = ["NgsiV2Connector"]
