"""A proprietary JSON API as a source, described in YAML: no code per API.

`url` (a template over configured `parameters`) lists records; `items`, `id` and `total` are
paths (connectors/paths.py) into its answers; the location comes from a GeoJSON object,
lon/lat numbers or WKT in any CRS (connectors/rest/geometry.py); the paging style is one of
connectors/rest/paging.py's. Records are flattened at this edge, so mapping rules name
nested values by path (`location.address.street`, `photos[0].url`).

Only URLs below `base` are fetched, next links included (connectors/remote/http.py), and no
URL ever comes from a request. Filters are pushed only as the declared parameters
(connectors/rest/request.py), exactly or not at all; the rest is the gateway's residual.
numberMatched is the API's `total` where declared, never computed by walking. A deep
offset costs one request with the `offset` and `page` styles; with the link-like styles it
is a walk from the nearest position remembered for that query (a client paging through
continues where its last page stopped), bounded by the source's deadline.

describe() samples the first page (cached for `cache_ttl`): the fields are what that page
holds. get(id) asks `item_url` when declared, else an `eq` pushdown on the id field, else
reads at most `get_scan_pages` pages and fails (502) rather than answer "not found" for a
record it did not reach: a 504 "too costly", which does not count against the source,
since any client can ask for an id that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

import shapely
from shapely.geometry import shape

from connectors import paths
from connectors.base import (
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    FieldInfo,
    QueryResult,
    Record,
    SourceQuery,
)
from connectors.crs import bbox_geometry, crs_uri
from connectors.errors import SourceError, SourceStatementTimeout
from connectors.filters import Call, Literal, Property
from connectors.ogcapi.pages import LinkMemo, Page, Resume, Walk
from connectors.remote.http import HttpEndpoint
from connectors.remote.metacache import MetadataCache
from connectors.rest.config import RestConfig, folder
from connectors.rest.geometry import GeometryReader
from connectors.rest.paging import Pager
from connectors.rest.records import Shape, body, field_types
from connectors.rest.request import Pushdown, bbox_params, fill, with_params

_INTEGER = re.compile(r"-?\d{1,18}")


class RestConnector(FeatureConnector):
    Config = RestConfig
    config: RestConfig

    def __init__(self, config: ConnectorConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        c = self.config
        self.list_url = fill(c.url, c.parameters)
        base = c.base or folder(self.list_url)
        self.endpoint = HttpEndpoint(base, c.http, name=self.name)
        self.pager = Pager(c, self.endpoint)
        optional = paths.parse(c.total) if c.total else None
        items = paths.parse(c.items) if c.items else ()
        reader = GeometryReader(c.geometry)
        self.shape = Shape(items, paths.parse(c.id), optional, reader, self.name, self.left_out)
        self.cache = MetadataCache(ttl=c.cache_ttl)
        self.memo = LinkMemo()
        self._caps: tuple[object, Capabilities] | None = None
        self._description: Description | None = None

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
        self._description = await self.cache.get("description", self._sample, shared_as=Description)
        return self._description

    def capabilities(self) -> Capabilities:
        d = self._description
        if self._caps is None or self._caps[0] is not d:
            self._caps = (d, self._declare(d))
        return self._caps[1]

    async def query(self, q: SourceQuery) -> QueryResult:
        await self.describe()
        params = dict(self.config.query)
        if q.filter is not None:
            pushed = self._pushdown().params(q.filter)
            if pushed is None:  # the pushed terms contradict each other: nothing matches
                return QueryResult(_none(), 0 if q.want_count else None)
            params.update(pushed)
        keep = None
        if q.bbox is not None:
            if q.bbox[0] <= q.bbox[2] and self.config.bbox_param:
                params.update(bbox_params(self.config, q.bbox))
            else:
                keep = _inside(q.bbox)
        key = with_params(self.list_url, params)
        position, resume = self._start(key, q, walk_all=keep is not None)
        walk = Walk(self._page, position, resume, q.offset, q.limit, keep)
        if q.limit != 0 or q.want_count:
            await walk.prime()
        matched = walk.number_matched if q.want_count and keep is None else None
        memo = key if keep is None and not self.pager.direct else None
        return QueryResult(self._records(walk, memo), matched)

    async def get(self, record_id: str) -> Record | None:
        await self.describe()
        if self.config.item_url is not None:
            return await self._item(record_id)
        id_field, kind = self.config.id, self._id_type()
        if kind == "integer" and not _INTEGER.fullmatch(record_id):
            return None  # every id the first page showed is an integer
        value = int(record_id) if kind == "integer" else record_id
        term = Call("=", (Property(id_field), Literal(value)))
        if record_id and self._pushdown().accepts(term):
            found = [r async for r in (await self.query(SourceQuery(limit=2, filter=term))).records]
            return next((r for r in found if str(r["id"]) == record_id), None)
        return await self._scan(record_id)

    async def problems(self) -> list[str]:
        d = await self.describe()
        _, url = self.pager.start(with_params(self.list_url, self.config.query), 0, None)
        answer = await self.endpoint.get(url)
        items = self.shape.items_of(body(answer, self.name, url), url)
        records = self.shape.records(items)
        names = {f.name for f in d.fields}
        found = []
        if items and not records:
            found.append(f"{url}: no item of the first page has an id at '{self.config.id}'")
        for name in self.config.pushdown:
            if records and name not in names:
                found.append(f"pushdown: the records of the first page have no '{name}'")
        if records and self.shape.geometry.enabled and not any(r["geometry"] for r in records):
            where = ", ".join(self.config.geometry.paths)
            found.append(f"{url}: no record of the first page has a usable location at {where}")
        return found

    # --- metadata ---------------------------------------------------------------------

    async def _sample(self) -> Description:
        size = self.config.sample_size
        _, url = self.pager.start(with_params(self.list_url, self.config.query), 0, size)
        page = await self._page(url)
        records = page.records[:size]
        types = field_types(records)
        kinds = {g["type"] for r in records if (g := r["geometry"]) is not None}
        geometry_type = None
        if self.config.geometry.lon is not None:
            geometry_type = "Point"
        elif kinds:
            geometry_type = kinds.pop() if len(kinds) == 1 else "Geometry"
        return Description(
            fields=tuple(FieldInfo(name, kind) for name, kind in types.items()),
            geometry_type=geometry_type,
            storage_crs=crs_uri(self.config.geometry.crs),
            id_field=self.config.id,
        )

    def _pushdown(self) -> Pushdown:
        d = self._description
        return Pushdown(self.config, {f.name: f.type for f in d.fields} if d else {})

    def _declare(self, d: Description | None) -> Capabilities:
        c = self.config
        push = self._pushdown() if c.pushdown and d is not None else None
        return Capabilities(
            bbox=c.bbox_param is not None,
            paging=True,
            count=c.total is not None,
            filter_test=None if push is None else push.accepts,
        )

    # --- reading ----------------------------------------------------------------------

    def _start(self, key: str, q: SourceQuery, *, walk_all: bool) -> tuple[int, Resume]:
        """Where to begin for q.offset: a remembered link, a direct URL, or the start."""
        if walk_all:
            position, url = self.pager.start(key, 0, None)
            return position, Resume(url, ())
        if not self.pager.direct and q.offset > 0:
            found = self.memo.nearest(key, q.offset)
            if found is not None:
                return found
        position, url = self.pager.start(key, q.offset, q.limit)
        return position, Resume(url, ())

    async def _page(self, url: str) -> Page:
        answer = await self.endpoint.get(url)
        doc = body(answer, self.name, url)
        items = self.shape.items_of(doc, url)
        total = self.shape.total_of(doc)
        following = self.pager.next_url(url, answer, doc, len(items), total)
        return Page(self.shape.records(items), following, total)

    async def _records(self, walk: Walk, key: str | None) -> Any:
        try:
            async for item in walk.records():
                yield item
        finally:
            if key is not None:
                for position, resume in walk.resumes():
                    self.memo.remember(key, position, resume)

    async def _item(self, record_id: str) -> Record | None:
        if record_id in ("", ".", ".."):
            return None
        url = fill(self.config.item_url or "", {**self.config.parameters, "id": record_id})
        answer = await self.endpoint.get(url)
        if answer.status in (404, 410):
            return None
        doc = body(answer, self.name, url)
        item = paths.get(doc, paths.parse(self.config.item_path)) if self.config.item_path else doc
        if not isinstance(item, dict):
            where = self.config.item_path or "the root"
            raise SourceError(f"{self.name}: the answer to {url} has no object at {where}")
        found = self.shape.records([item])
        if not found or str(found[0]["id"]) != record_id:
            return None
        return found[0]

    async def _scan(self, record_id: str) -> Record | None:
        """Page after page from the start, at most `get_scan_pages` of them."""
        _, url = self.pager.start(with_params(self.list_url, self.config.query), 0, None)
        next_url: str | None = url
        for _ in range(self.config.get_scan_pages):
            if next_url is None:
                return None
            page = await self._page(next_url)
            for r in page.records:
                if str(r["id"]) == record_id:
                    return r
            next_url = page.next_url if page.records else None
        if next_url is None:
            return None
        raise SourceStatementTimeout(  # too costly, not a failure: the breaker stays shut
            f"{self.name}: item {record_id[:80]} not in the first {self.config.get_scan_pages} "
            "pages; declare `item_url` (or an `eq` pushdown of the id) to look items up"
        )

    def _id_type(self) -> str | None:
        fields = self._description.fields if self._description else ()
        return next((f.type for f in fields if f.name == self.config.id), None)


async def _none() -> Any:
    return
    yield


def _inside(bbox: tuple[float, float, float, float]) -> Any:
    """A test of a record's location against a box (one across the antimeridian too)."""
    area = bbox_geometry(bbox)
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


__all__ = ["RestConnector"]
