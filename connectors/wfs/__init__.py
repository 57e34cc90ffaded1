"""A WFS 2.0 feature type as a source (GeoServer, MapServer, deegree, XPlanSynWFS …).

Capabilities and DescribeFeatureType are fetched through the shared HTTP layer, parsed
with the hardened XML parser (OWSLib reads the capabilities' content from the checked
bytes) and kept in a MetadataCache. GetFeature pages are asked as GeoJSON when the feature
type offers it, else as GML read while it arrives; COUNT/STARTINDEX page through the
upstream until the query's limit. A query's bbox is sent as BBOX (inside the FES filter when
there is one) in the request CRS and then tested exactly in CRS84 here, since a box
reprojected by the server is not the client's box; with a bbox, offsets are therefore
counted here too. Filters go down as FES 2.0 only where the server declares the operators
(connectors/wfs/fes.py decides); sorting only when configured (`sort`), as servers that
declare ImplementsSorting do not all sort like the gateway (MapServer 8 sorts numbers as
text). With `writable: true`, items are written through WFS-T 2.0 Transactions
(connectors/wfs/write.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import (
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    FieldType,
    QueryResult,
    Record,
    SourceQuery,
)
from connectors.crs import crs_uri
from connectors.errors import SourceError
from connectors.remote.http import HttpEndpoint, HttpSettings
from connectors.remote.metacache import MetadataCache
from connectors.wfs import metadata, reader
from connectors.wfs.gmlgeom import srs_axes
from connectors.wfs.reader import Target
from connectors.wfs.request import equal_to
from connectors.wfs.service import Schema, ServiceInfo
from connectors.wfs.write import WfsWrites, write_problems

SLOW_HITS = 0.25  # seconds; a count slower than this costs more than numberMatched is worth
log = logging.getLogger("twinbridge.wfs")


class FesSettings(BaseModel):
    """Pushdown the server's Filter_Capabilities cannot tell: each verified on MapServer 8."""

    model_config = ConfigDict(extra="forbid")
    dates: bool = Field(
        False,
        description="Push comparisons of dates (MapServer over PostGIS widens a date to its "
        "day, which the rendering allows for; over an OGR layer it matches nothing).",
    )
    ordered_strings: bool = Field(
        False,
        description="Push `<`, `>` … on strings: only when the server's collation orders "
        "by code point, as the gateway does (C collation).",
    )
    spatial_tolerance: float | None = Field(
        None,
        gt=0,
        description="Metres a spatial filter may differ where the server reprojects the "
        "literal into a projected storage CRS (none: spatial filters are pushed only when "
        "the data is stored in EPSG:4326/CRS84, where they are exact).",
    )
    storage_crs: str | None = Field(
        None,
        description="The CRS the server stores the data in, when `srs_name` asks for "
        "another (it decides whether a spatial filter is exact); empty: `srs_name`'s.",
    )


class WFSConfig(ConnectorConfig):
    url: str = Field(
        description="The WFS endpoint, as its capabilities are asked for without the "
        "SERVICE/REQUEST parameters (a query of its own is kept: "
        "`https://host/mapserv?map=plans`). Only URLs starting with it are fetched."
    )
    type_name: str = Field(
        description="The feature type (`ms:trees`, `xplan:BP_Plan`); its local name is "
        "enough when no other type shares it."
    )
    id_field: str | None = Field(
        None,
        description="The property that identifies a feature (e.g. `fid`); items are then "
        "fetched by a filter on it. Empty: the feature's own id (gml:id, GeoJSON id), "
        "fetched by RESOURCEID; a server whose GeoJSON carries no id needs id_field.",
    )
    output_format: Literal["auto", "geojson", "gml32", "gml31"] = Field(
        "auto",
        description="`auto`: GeoJSON when the feature type offers it (application/json, "
        "application/geo+json or a geojson subtype), else GML 3.2, else GML 3.1 (GML is "
        "read as a stream); or force one of them.",
    )
    page_size: int = Field(
        1000, ge=1, le=100_000, description="COUNT per upstream GetFeature request."
    )
    hits: Literal["auto"] | bool = Field(
        "auto",
        description="numberMatched from a `resultType=hits` request before the page: "
        "`auto` asks only for queries without a filter, and stops asking for `cache_ttl` "
        "seconds once a count took longer than 0.25 s (MapServer counts by scanning the "
        "table: slower than the page itself); `true` always asks, also for filtered "
        "queries; `false` never (set it for servers whose counts are estimates; "
        "numberMatched is then left out). Never with a bbox, which is tested exactly in "
        "the gateway.",
    )
    srs_name: str | None = Field(
        None,
        description="CRS asked for (SRSNAME), e.g. `EPSG:25832`; empty: the feature type's "
        "DefaultCRS. `config check` names one the server does not list.",
    )
    pushdown: FesSettings = Field(
        default_factory=lambda: FesSettings(),
        description="What the operator knows of the server beyond its Filter_Capabilities; "
        "every key defaults to caution (the gateway evaluates what is not pushed).",
    )
    sort: bool = Field(
        False,
        description="Let the server sort (SORTBY) when it declares ImplementsSorting. Off "
        "by default: MapServer 8 declares it but sorts numbers as text; the gateway then "
        "sorts itself.",
    )
    field_types: dict[str, FieldType] = Field(
        default_factory=dict,
        description="Types overriding the schema's, by property (e.g. `last_update: date` "
        "where the server declares a gml:TimeInstantType for a date).",
    )
    empty_is_null: bool = Field(
        False,
        description="Read an empty string property as null. MapServer writes NULL as an "
        "empty string in GeoJSON and as an empty element in GML, so both read back as ''; "
        "set it for MapServer (a true empty string then reads as null too).",
    )
    cache_ttl: float = Field(
        300.0,
        gt=0,
        description="Seconds capabilities and DescribeFeatureType are reused before a "
        "background refresh.",
    )
    http: HttpSettings = Field(
        default_factory=HttpSettings,
        description="Connection settings of the endpoint (see `source.http`).",
    )
    writable: bool = Field(
        False,
        description="Take OGC API – Features Part 4 writes through WFS-T 2.0 Transaction "
        "(Insert, Replace, Update, Delete; never retried). The server's capabilities must "
        "offer Transaction (operation and ImplementsTransactionalWFS), which `config check` "
        "verifies; the server's account decides what it accepts.",
    )


class WFSConnector(WfsWrites, FeatureConnector):
    Config = WFSConfig
    config: WFSConfig

    def __init__(self, config: ConnectorConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.endpoint = HttpEndpoint(self.config.url, self.config.http, name=self.name)
        self.cache = MetadataCache(ttl=self.config.cache_ttl)
        self._last: Target | None = None
        self._filter_test: Callable[[Any], bool] | None = None
        self._hits_paused_until = 0.0

    async def open(self) -> None:
        await self.endpoint.open()

    async def close(self) -> None:
        await self.endpoint.close()

    def concurrency(self) -> int | None:
        return self.config.http.max_connections

    async def _target(self) -> Target:
        """The feature type and its metadata (cached; the last one kept for capabilities())."""
        service = await self.cache.get("capabilities", self._load_capabilities)
        feature_type = service.feature_type(self.config.type_name)
        if feature_type is None:
            raise SourceError(f"{self.name}: the WFS has no feature type '{self.config.type_name}'")
        schema = await self.cache.get(
            "schema", lambda: self._load_schema(feature_type.name), shared_as=Schema
        )
        last = self._last
        if last is not None and last.service is service and last.schema is schema:
            return last
        target = Target(self.name, self.config, service, feature_type, schema)
        self._last = target
        self._filter_test = metadata.filter_test(service, schema, target.srs, self.config.pushdown)
        return target

    async def _load_capabilities(self) -> ServiceInfo:
        return await metadata.capabilities(self.endpoint, self.config.url)

    async def _load_schema(self, type_name: str) -> Schema:
        schema = await metadata.schema(self.endpoint, type_name)
        return metadata.with_types(schema, self.config.field_types)

    async def describe(self) -> Description:
        target = await self._target()
        return Description(
            fields=target.schema.fields,
            geometry_type=target.schema.geometry_type,
            storage_crs=crs_uri(srs_axes(target.srs)[0]),
            bbox=target.feature_type.wgs84_bbox,
            id_field=self.config.id_field,
        )

    def capabilities(self) -> Capabilities:
        """Filters and sorting as the metadata last read allows (nothing before it is)."""
        target = self._last
        caps = None if target is None else target.service.filter_capabilities
        return Capabilities(
            bbox=True,
            paging=True,
            count=self.config.hits is not False,
            filter_test=self._filter_test,
            sort=bool(self.config.sort and caps is not None and caps.sorting),
        )

    async def query(self, q: SourceQuery) -> QueryResult:
        plan = reader.Plan.make(await self._target(), q)
        count = None
        if q.want_count and self._hits_allowed(q):
            started = time.monotonic()
            count = await reader.hits(self.endpoint, plan)
            if self.config.hits == "auto" and time.monotonic() - started > SLOW_HITS:
                self._hits_paused_until = time.monotonic() + self.config.cache_ttl
                log.info("%s: counting took over %.2f s, paused", self.name, SLOW_HITS)
        return QueryResult(reader.pages(self.endpoint, plan), count)

    def _hits_allowed(self, q: SourceQuery) -> bool:
        """The server's count is exact for what it selects: not with a bbox, whose exact
        test runs here (the server's box is a wider envelope in its CRS)."""
        if q.bbox is not None:
            return False
        if self.config.hits == "auto":
            return q.filter is None and time.monotonic() >= self._hits_paused_until
        return bool(self.config.hits)

    async def get(self, record_id: str) -> Record | None:
        target = await self._target()
        plan = reader.Plan.make(target, SourceQuery(limit=1))
        id_field = self.config.id_field
        if id_field is None:
            plan = plan.with_request(resource_id=record_id)
        elif target.schema.types.get(id_field) == "integer" and not _integer(record_id):
            return None
        else:
            plan = plan.with_request(filter_xml=equal_to(id_field, record_id))
        found = [r async for r in reader.pages(self.endpoint, plan)]
        return found[0] if found else None

    async def problems(self) -> list[str]:
        try:
            target = await self._target()
        except SourceError as e:
            return [str(e)]
        found = metadata.problems(self.config, target.feature_type, target.schema)
        return found + write_problems(self.config, target.service)


def _integer(text: str) -> bool:
    return text.removeprefix("-").isdigit()


__all__ = ["WFSConfig", "WFSConnector"]
