"""An upstream OGC API – Features collection (ldproxy, pygeoapi, tipg, GeoServer, another
TwinBridge), read live: this is also how a state's TwinBridge federates its cities'.

Pushdown follows the upstream's declarations only (connectors/ogcapi/metadata.py): `bbox`
always (Part 1; a box across the antimeridian is tested here instead, as servers differ on
it), `filter` in CQL2 with the operators its CQL2 classes name on its queryables
(connectors/remote/cql2.py; Part 3's `filter` class implies Basic CQL2 in cql2-text),
`sortby` with Part 8 sorting on its sortables, `properties` with Part 6. The gateway's
`datetime` reaches a source as part of the residual (see gateway/planning/planner.py), so it
is evaluated here; temporal filters go upstream as CQL2 where declared. Geometries are
asked for and arrive in CRS84, so `crs`/`bbox-crs` are never sent.

Paging meets the gateway's offsets (SourceQuery.offset/limit; the connector declares no
keyset, since an upstream's position is its link, not a sort key) like this:
- `offset: auto` (default): when the upstream's own `next` links page by an `offset`
  parameter (pygeoapi, tipg), a deep page is one request with `offset`, as its links would
  have made it. Otherwise (cursor links, e.g. TwinBridge) its links are followed: from the
  nearest position this process remembers (pages.LinkMemo: a client paging through the
  gateway continues where the last page stopped, one upstream request per page), else from
  the start. `links` always follows links; `parameter` always sends `offset` (only for an
  upstream known to accept it).
- Page size upstream: what the gateway needs from the start position, capped at
  `page_size`; the upstream may give fewer, its next link tells.
numberMatched is passed on only when the upstream gives it (the planner asks only for
exact queries); never computed by walking.

Ids are the upstream's own, unchanged: the gateway namespaces them where its views need it
(`tenant.collection.id` in the federated root), and `items/{id}` is asked upstream with the
id percent-encoded as one path segment, so a state-level instance resolves ids of its
cities' federated roots as well as their tenants' collections.

Caveat: strings compare by the upstream's collation (a TwinBridge or a PostgreSQL in C or
C.UTF-8 order by code point as the gateway does); turn `filter`/`sort` off for an upstream
whose order differs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import orjson
import shapely
from pydantic import Field, model_validator
from shapely.geometry import shape

from connectors.base import (
    CRS84,
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    FieldInfo,
    QueryResult,
    Record,
    SourceQuery,
    infer_type,
)
from connectors.errors import SourceError, SourceRefused
from connectors.filters import Expr, Unsupported
from connectors.ogcapi import metadata as md
from connectors.ogcapi.pages import LinkMemo, Page, Resume, Walk, json_doc, parse_page, record
from connectors.remote import cql2
from connectors.remote.http import HttpEndpoint, HttpSettings
from connectors.remote.metacache import MetadataCache

GEOJSON = {"Accept": "application/geo+json, application/json;q=0.9"}


class OAPIFConnector(FeatureConnector):
    class Config(ConnectorConfig):
        url: str = Field(
            description="The upstream collection, e.g. https://geo.example.org/collections/trees "
            "(or its landing page with `collection`). Only URLs below its landing page are "
            "ever fetched, next links included.",
            pattern=r"^https?://",
        )
        collection: str | None = Field(
            None, description="Collection id, when `url` is the landing page."
        )
        page_size: int = Field(
            1000, ge=1, le=10000, description="Most features asked for per upstream request."
        )
        http: HttpSettings = Field(
            default_factory=HttpSettings,
            description="Connection settings: headers, timeouts, pool, size cap, retries.",
        )
        cache_ttl: float = Field(
            300.0,
            gt=0,
            description="Seconds the upstream's conformance, collection, queryables and "
            "sortables are trusted before a background refresh.",
        )
        filter: Literal["auto", "off"] = Field(
            "auto",
            description="'auto': push CQL2 filters as far as the upstream declares (its CQL2 "
            "conformance classes and queryables); 'off': evaluate every filter in the gateway.",
        )
        filter_lang: Literal["auto", "cql2-text", "cql2-json"] = Field(
            "auto",
            description="Encoding of pushed filters. 'auto': cql2-text when declared or when "
            "cql2-json is not (sent without filter-lang, the standard's default: pygeoapi "
            "0.21 refuses filter-lang=cql2-text), else cql2-json.",
        )
        sort: Literal["auto", "off"] = Field(
            "auto", description="'auto': push sortby where the upstream declares sortables."
        )
        properties: Literal["auto", "off"] = Field(
            "auto", description="'auto': ask only for the mapped properties where declared."
        )
        offset: Literal["auto", "links", "parameter"] = Field(
            "auto",
            description="How a deep page is reached: 'auto' sends `offset` when the "
            "upstream's own next links page by offset, else follows its links; 'links' "
            "always follows links; 'parameter' always sends `offset`.",
        )
        count: bool = Field(
            True, description="Pass on the upstream's numberMatched (when it gives one)."
        )
        assume: list[str] = Field(
            default_factory=list,
            description="Conformance classes the upstream supports without declaring them, "
            "as URIs or CQL2 class names (e.g. [basic-cql2, advanced-comparison-operators]); "
            "the operator vouches for them.",
        )

        @model_validator(mode="after")
        def _collection_url(self) -> OAPIFConnector.Config:
            if self.collection is None and "/collections/" not in self.url:
                raise ValueError("`url` must name a collection (…/collections/{id}) or set it")
            return self

    config: Config

    def __init__(self, config: ConnectorConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        c = self.config
        url = c.url.rstrip("/")
        if c.collection is not None:
            self.landing, self.collection_url = url, f"{url}/collections/{quote(c.collection)}"
        else:
            self.landing, self.collection_url = url.split("/collections/")[0], url
        self.endpoint = HttpEndpoint(self.landing, c.http, name=self.name)
        self.cache = MetadataCache(ttl=c.cache_ttl)
        self.memo = LinkMemo()
        self._up: md.Upstream | None = None
        self._caps: tuple[md.Upstream, Capabilities] | None = None
        self._offset_links = False  # the upstream's next links page by `offset`

    # --- contract ---------------------------------------------------------------------

    async def open(self) -> None:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        await self._upstream()

    async def close(self) -> None:
        await self.endpoint.close()

    def concurrency(self) -> int:
        return self.config.http.max_connections

    async def describe(self) -> Description:
        up = await self._upstream()
        return Description(fields=up.fields, storage_crs=CRS84, bbox=up.bbox)

    def capabilities(self) -> Capabilities:
        up = self._up
        if up is None:
            return Capabilities(bbox=True, paging=True)
        if self._caps is None or self._caps[0] is not up:
            self._caps = (up, self._declare(up))
        return self._caps[1]

    async def query(self, q: SourceQuery) -> QueryResult:
        up = await self._upstream()
        params = self._params(q, up)
        keep = _antimeridian(q.bbox)
        items = self._items_url(up)
        key = f"{items}?{_encode(params)}"
        position, resume = self._start(key, items, params, q, walk_all=keep is not None)
        walk = Walk(self._page, position, resume, q.offset, q.limit, keep)
        if q.limit != 0 or q.want_count:
            await walk.prime()
        matched = (
            walk.number_matched if q.want_count and self.config.count and keep is None else None
        )
        return QueryResult(self._records(walk, key if keep is None else None), matched)

    async def get(self, record_id: str) -> Record | None:
        up = await self._upstream()
        if record_id in ("", ".", ".."):
            return None
        url = f"{self._items_url(up)}/{quote(record_id, safe='')}"
        answer = await self.endpoint.get(url, GEOJSON)
        if answer.status in (400, 404):
            return None
        doc = json_doc(answer, self.name, url)
        try:
            return record(doc)
        except ValueError as e:
            raise SourceError(f"{self.name}: the upstream's item: {e}") from None

    async def problems(self) -> list[str]:
        up = await self._upstream()
        found = []
        if not up.fields:
            found.append(f"{self.collection_url}: the upstream describes no properties")
        if up.crs and not set(up.crs) & set(md.CRS84) and "#/crs" not in up.crs:
            found.append(f"{self.collection_url}: the upstream does not offer CRS84")
        if not up.declares(md.CORE):
            found.append(f"{self.landing}: the upstream does not declare OGC API – Features")
        return found

    # --- metadata ---------------------------------------------------------------------

    async def _upstream(self) -> md.Upstream:
        if not self.endpoint.is_open:
            await self.endpoint.open()
        self._up = await self.cache.get("upstream", self._load, shared_as=md.Upstream)
        return self._up

    async def _load(self) -> md.Upstream:
        conformance = await self._doc(f"{self.landing}/conformance")
        collection = await self._doc(self.collection_url)
        queryables = await self._doc(f"{self.collection_url}/queryables", optional=True)
        schema = await self._doc(f"{self.collection_url}/schema", optional=True)
        declared = md.classes(conformance, self.config.assume)
        sortables = None
        if md.SORTING in declared:
            sortables = await self._doc(f"{self.collection_url}/sortables", optional=True)
        up = md.upstream(conformance, collection, queryables, sortables, schema, self.config.assume)
        if not up.fields:  # nothing declared: read the properties of a first page
            up = await self._sampled(up)
        return up

    async def _doc(self, url: str, *, optional: bool = False) -> Any:
        answer = await self.endpoint.get(url)
        if optional and answer.status in (400, 404, 406):
            return None
        if 400 <= answer.status < 500:  # metadata is not the request's: the source is broken
            raise SourceError(f"{self.name}: the upstream answered {answer.status} for {url}")
        return json_doc(answer, self.name, url)

    async def _sampled(self, up: md.Upstream) -> md.Upstream:
        page = await self._page(f"{self._items_url(up)}?limit=10")
        names: dict[str, list[Any]] = {}
        for r in page.records:
            for k, v in r["properties"].items():
                names.setdefault(k, []).append(v)
        fields = tuple(FieldInfo(k, infer_type(v)) for k, v in names.items())
        return replace(up, fields=fields)

    def _items_url(self, up: md.Upstream) -> str:
        link = up.items_url
        if link is not None and self.endpoint.owns(link) and not urlsplit(link).query:
            return link.rstrip("/")
        return f"{self.collection_url}/items"

    # --- capabilities ---------------------------------------------------------------

    def _dialect(self, up: md.Upstream) -> cql2.Dialect:
        if self.config.filter == "off" or not (
            up.declares(md.FILTER) or up.declares(md.FEATURES_FILTER)
        ):
            return cql2.Dialect(frozenset())
        return cql2.dialect(up.classes, up.queryables, up.geometry)

    def _declare(self, up: md.Upstream) -> Capabilities:
        d = self._dialect(up)

        def pushable(expr: Expr) -> bool:
            try:
                self._filter_params(expr, d, up)
            except Unsupported:
                return False
            return True

        sort = self.config.sort == "auto" and up.declares(md.SORTING) and bool(up.sortables)
        return Capabilities(
            bbox=True,
            paging=True,
            count=self.config.count,
            filter_ops=d.ops,
            filter_test=None if d.empty else pushable,
            sort=sort,
            sortables=up.sortables,
            projection=self.config.properties == "auto" and up.declares(md.PROPERTIES),
        )

    def _filter_params(self, expr: Expr, d: cql2.Dialect, up: md.Upstream) -> dict[str, str]:
        if d.empty:
            raise Unsupported("filter", "the upstream declares no CQL2")
        data = cql2.to_json(expr, d)
        lang = self.config.filter_lang
        if lang == "auto":
            text = up.declares(md.CQL2_TEXT) or not up.declares(md.CQL2_JSON)
            lang = "cql2-text" if text else "cql2-json"
        if lang == "cql2-text":
            return {"filter": cql2.to_text(data)}
        return {"filter": orjson.dumps(data).decode(), "filter-lang": "cql2-json"}

    # --- paging -----------------------------------------------------------------------

    def _params(self, q: SourceQuery, up: md.Upstream) -> dict[str, str]:
        params: dict[str, str] = {}
        if q.bbox is not None and q.bbox[0] <= q.bbox[2]:
            params["bbox"] = ",".join(repr(float(v)) for v in q.bbox)
        if q.filter is not None:
            try:
                params.update(self._filter_params(q.filter, self._dialect(up), up))
            except Unsupported as e:  # the planner asked only for what pushable() accepted
                raise SourceError(f"{self.name}: a filter the upstream cannot take: {e}") from e
        if q.sortby:
            params["sortby"] = ",".join(("" if asc else "-") + name for name, asc in q.sortby)
        if q.fields and self.capabilities().projection:
            params["properties"] = ",".join(q.fields)
        return params

    def _start(
        self,
        key: str,
        items: str,
        params: dict[str, str],
        q: SourceQuery,
        *,
        walk_all: bool,
    ) -> tuple[int, Resume]:
        """Where to begin reading for q.offset: a remembered link, the upstream's `offset`
        parameter, or the first page (asking for what is needed up to `page_size`)."""
        size, limit = self.config.page_size, q.limit

        def url(count: int, **more: int) -> str:
            query = {
                **params,
                "limit": str(max(1, min(size, count))),
                **{k: str(v) for k, v in more.items()},
            }
            return f"{items}?{_encode(query)}"

        if walk_all or q.offset == 0:
            return 0, Resume(url(size if walk_all or limit is None else limit), ())
        found = self.memo.nearest(key, q.offset)
        mode = self.config.offset
        by_parameter = mode == "parameter" or (mode == "auto" and self._offset_links)
        if found is not None and (found[0] == q.offset or not by_parameter):
            return found
        if by_parameter:
            return q.offset, Resume(url(size if limit is None else limit, offset=q.offset), ())
        return 0, Resume(url(size if limit is None else q.offset + limit), ())

    async def _page(self, url: str) -> Page:
        answer = await self.endpoint.get(url, GEOJSON)
        page = parse_page(answer, self.endpoint, url)
        if page.next_url is not None and "offset" in _query(page.next_url):
            self._offset_links = True
        return page

    async def _records(self, walk: Walk, key: str | None) -> Any:
        try:
            async for item in walk.records():
                yield item
        finally:
            if key is not None:
                for position, resume in walk.resumes():
                    self.memo.remember(key, position, resume)


def _encode(params: dict[str, str]) -> str:
    return urlencode(sorted(params.items()), quote_via=quote, safe=",")


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _antimeridian(bbox: tuple[float, float, float, float] | None) -> Any:
    """A test for a box across the antimeridian (sent upstream as no box), else None."""
    if bbox is None or bbox[0] <= bbox[2]:
        return None
    west, south, east, north = bbox
    area = shapely.union(
        shapely.box(west, south, 180.0, north), shapely.box(-180.0, south, east, north)
    )
    shapely.prepare(area)

    def keep(r: Record) -> bool:
        g = r.get("geometry")
        if not g:
            return False
        try:
            return bool(area.intersects(shape(g)))
        except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
            return False

    return keep


__all__ = ["OAPIFConnector", "SourceRefused"]
