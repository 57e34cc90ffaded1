"""An NGSI-LD broker's entities of one type (Orion-LD, Stellio, Scorpio; API 1.6+), read live.

Requests: `GET /ngsi-ld/v1/entities?type=T` with the @context as a JSON-LD `Link` header
(configurable; the Smart Data Models context by default: its URL is sent, never fetched),
`NGSILD-Tenant` when a tenant is set, `limit`/`offset` paging capped at `page_size` (the
broker's maximum: Stellio's is 100 by default, Orion-LD's 1000), `count=true` for an exact
`numberMatched` from `NGSILD-Results-Count`.

Pushdown: filters as `q` where the broker answers exactly as the gateway (connectors/ngsi/
ldq.py), the rest is a residual; a bbox as `georel=intersects` (or `within`) with a
`Polygon` (a `MultiPolygon` across the antimeridian) in lon,lat on the configured
`geoproperty`. No sorting (NGSI-LD 1.6 has none): the gateway sorts. Caveat: brokers on
MongoDB's 2dsphere index (Orion-LD) read a polygon's edges as great circles, so near a box's
northern or southern edge their selection can differ from the gateway's planar box by
metres (at city scale); the test broker evaluates planar, as the gateway does.

Records: the entity `id` is the record id; the GeoProperty named `geoproperty` is the
geometry. Properties are flattened with connectors.paths.flatten from the representation:
- `normalized` (default): every attribute keeps what the broker says about it, so a field is
  `NO2.value`, `NO2.unitCode`, `NO2.observedAt`, `refDevice.object`, `address.value.
  streetAddress`, `location.value` (a GeoProperty's value stays one GeoJSON object); the
  attribute's `type` (Property …) is left out, the entity `type` is a field.
- `keyValues`: only values: `NO2`, `address.streetAddress`, `refDevice`.
Concise is not offered: it gives an attribute as a bare value or as an object, entity by
entity, so the field names would change with the data.
FieldInfo.path is the q attribute path of a field (`NO2`, `NO2.observedAt`,
`address[streetAddress]`); fields without one (`type`, lists, GeoJSON values) are not pushed.

A value whose type is not its field's (a sensor's "n/a" where numbers were sampled) is left
out of the record and said so (`left_out(field, "type")`: the gateway counts it as
`twinbridge_data_quality_total`); a page never fails for one bad value.

With `writable: true` the connector also creates, replaces, updates and deletes entities
(connectors/ngsi/ldwrite.py) as Property, Relationship and GeoProperty attributes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from connectors.base import (
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    FieldInfo,
    FieldType,
    QueryResult,
    Record,
    SourceQuery,
    infer_type,
)
from connectors.errors import SourceError
from connectors.filters import Expr, Unsupported
from connectors.ngsi import ldclient, ldrecords
from connectors.ngsi.ldq import to_q
from connectors.ngsi.ldwrite import LdWrites
from connectors.ngsi.v2records import fits
from connectors.remote.http import HttpEndpoint, HttpSettings

PUSHED_OPS = frozenset(
    {"and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "in", "between", "like", "isNull"}
)


class NGSILDConnector(LdWrites, FeatureConnector):
    class Config(ConnectorConfig):
        url: str = Field(
            description="The broker's root, e.g. http://orion-ld:1026 (requests go to "
            "/ngsi-ld/v1/… below it; nothing else is fetched).",
            pattern=r"^https?://",
        )
        type: str = Field(
            description="The entity type, as a term of `context` (e.g. AirQualityObserved)."
        )
        tenant: str | None = Field(
            None, description="NGSILD-Tenant header; none: the broker's default tenant."
        )
        context: str | None = Field(
            ldclient.SDM_CONTEXT,
            description="@context URL sent as a JSON-LD Link header (never fetched by "
            "TwinBridge); null: the core context only.",
        )
        q: str | None = Field(
            None,
            description="A fixed NGSI-LD q restricting the entities (ANDed with pushed "
            'filters), e.g. `status=="active"`.',
        )
        representation: Literal["normalized", "keyValues"] = Field(
            "normalized",
            description="'normalized': fields `NO2.value`, `NO2.unitCode`, `NO2.observedAt` "
            "…; 'keyValues': values only (`NO2`).",
        )
        geoproperty: str = Field("location", description="The GeoProperty that is the geometry.")
        georel: Literal["intersects", "within"] = Field(
            "intersects",
            description="How a bbox is pushed: 'intersects' (the gateway's bbox meaning) or "
            "'within' (exact for point data only) for brokers without intersects.",
        )
        page_size: int = Field(
            100, ge=1, le=10000, description="Most entities per request (the broker's maximum)."
        )
        count: bool = Field(True, description="Ask for NGSILD-Results-Count (numberMatched).")
        filter: Literal["auto", "off"] = Field(
            "auto", description="'auto': push filters as q where exact; 'off': never."
        )
        sample: int = Field(
            100, ge=1, le=1000, description="Entities read to learn the fields (describe)."
        )
        http: HttpSettings = Field(
            default_factory=HttpSettings,
            description="Connection settings: headers (e.g. Authorization: ${TOKEN}), "
            "timeouts, pool, size cap, retries.",
        )
        writable: bool = Field(
            False,
            description="Allow creating, replacing, updating and deleting entities through "
            "the gateway (OGC API – Features Part 4); the broker account must be allowed to "
            "write, and the broker must serve NGSI-LD 1.6.1's Replace Entity (PUT).",
        )

    config: Config

    def __init__(self, config: ConnectorConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        c = self.config
        self.endpoint = HttpEndpoint(c.url, c.http, name=self.name)
        self.target = ldclient.LdTarget(tenant=c.tenant, context=c.context)
        self._description: Description | None = None
        self._paths: dict[str, str] = {}
        self._types: dict[str, FieldType] = {}
        self._capabilities: Capabilities | None = None

    async def open(self) -> None:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        await self.describe()

    async def close(self) -> None:
        await self.endpoint.close()

    def concurrency(self) -> int:
        return self.config.http.max_connections

    async def describe(self) -> Description:
        if self._description is None:
            if not self.endpoint.is_open:
                await self.endpoint.open()
            page = await ldclient.list_entities(
                self.endpoint, self.target, self._base(), limit=min(self.config.sample, 1000)
            )
            learnt = self._learn(page.entities)
            if not page.entities:  # nothing to learn from yet: ask again next time
                return learnt
            self._description = learnt
        return self._description

    def _learn(self, entities: list[dict[str, Any]]) -> Description:
        values: dict[str, list[Any]] = {}
        kinds: set[str] = set()
        for entity in entities:
            record = self._record(entity)
            if record["geometry"]:
                kinds.add(record["geometry"]["type"])
            for name, value in record["properties"].items():
                values.setdefault(name, []).append(value)
        fields = []
        for name, seen in values.items():
            kind = infer_type(seen)
            self._types[name] = kind
            path = ldrecords.q_path(name, self.config.representation) if kind != "json" else None
            fields.append(FieldInfo(name, kind, path=path))
            if path is not None:
                self._paths[name] = path
        geometry = kinds.pop() if len(kinds) == 1 else ("Geometry" if kinds else None)
        return Description(fields=tuple(fields), geometry_type=geometry)

    def capabilities(self) -> Capabilities:
        if self.config.filter == "off" or self._description is None:
            return Capabilities(bbox=True, paging=True, count=self.config.count)
        if self._capabilities is None:
            paths = dict(self._paths)

            def pushable(expr: Expr) -> bool:
                try:
                    to_q(expr, paths)
                except Unsupported:
                    return False
                return True

            self._capabilities = Capabilities(
                bbox=True,
                paging=True,
                count=self.config.count,
                filter_ops=PUSHED_OPS,
                filter_test=pushable,
            )
        return self._capabilities

    async def query(self, q: SourceQuery) -> QueryResult:
        await self.describe()
        params = self._base()
        if q.filter is not None:
            try:
                pushed = to_q(q.filter, self._paths)
            except Unsupported as e:  # the planner asked only for what pushable() accepted
                raise SourceError(f"{self.name}: a filter the broker cannot take: {e}") from e
            params["q"] = f"({params['q']});({pushed})" if params.get("q") else pushed
        if q.bbox is not None:
            params.update(ldrecords.bbox_query(q.bbox, self.config.georel))
            params["geoproperty"] = self.config.geoproperty
        want = q.want_count and self.config.count
        first = None
        if want:
            first = await self._page(params, q.offset, q.limit, count=True)
        matched = first.count if first is not None and want else None
        return QueryResult(self._records(params, q.offset, q.limit, first), matched)

    async def _page(
        self, params: dict[str, Any], offset: int, limit: int | None, *, count: bool = False
    ) -> ldclient.EntityPage:
        size = self.config.page_size if limit is None else min(limit, self.config.page_size)
        return await ldclient.list_entities(
            self.endpoint, self.target, params, limit=size, offset=offset, count=count
        )

    async def _records(
        self,
        params: dict[str, Any],
        offset: int,
        limit: int | None,
        page: ldclient.EntityPage | None,
    ) -> Any:
        left = limit
        while left is None or left > 0:
            if page is None:
                page = await self._page(params, offset, left)
            for entity in page.entities[:left]:
                yield self._record(entity)
            got = len(page.entities)
            asked = self.config.page_size if left is None else min(left, self.config.page_size)
            if got < asked:
                return
            offset += got
            left = None if left is None else left - got
            page = None

    async def get(self, record_id: str) -> Record | None:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        params = {"options": "keyValues"} if self.config.representation == "keyValues" else None
        entity = await ldclient.get_entity(self.endpoint, self.target, record_id, params)
        if entity is None or not ldrecords.has_type(entity, self.config.type):
            return None
        return self._record(entity)

    async def problems(self) -> list[str]:
        found = await self.describe()
        if found.fields:
            return []
        where = f"tenant {self.config.tenant}" if self.config.tenant else "the default tenant"
        return [
            f"{self.config.url}: no entities of type {self.config.type} in {where} with the "
            f"@context {self.config.context or '(core)'} (a type or context that does not match "
            "the broker's expands to another IRI and matches nothing)"
        ]

    def _base(self) -> dict[str, Any]:
        params: dict[str, Any] = {"type": self.config.type}
        if self.config.q:
            params["q"] = self.config.q
        if self.config.representation == "keyValues":
            params["options"] = "keyValues"
        return params

    def _record(self, entity: dict[str, Any]) -> Record:
        found = ldrecords.record(entity, self.config.representation, self.config.geoproperty)
        props, types = found["properties"], self._types
        if types:
            odd = [n for n, v in props.items() if n in types and not fits(v, types[n])]
            for name in odd:
                del props[name]
                self.left_out(name, "type")
        return found


__all__ = ["NGSILDConnector"]
