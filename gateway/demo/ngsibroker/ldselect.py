"""Which entities an NGSI-LD query selects (6.4.3.2): `type`, `id`, `idPattern`, `q`,
`attrs` and a geo-query, all ANDed, over a tenant's entities in creation order. Shared by
`GET /entities`, the temporal API and subscriptions.

A query must say at least one of type, id, idPattern, attrs, q or a geo-query (6.4.3.2;
400 BadRequestData otherwise). A type list `A,B` is any of them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.demo.ngsibroker import ldquery
from gateway.demo.ngsibroker.geo import GeoError, GeoQuery, geojson_shape, ld_query
from gateway.demo.ngsibroker.ldcontext import Context
from gateway.demo.ngsibroker.ldstore import LdError, has_type


@dataclass(frozen=True)
class Selection:
    types: set[str] | None = None
    ids: set[str] | None = None
    id_pattern: re.Pattern[str] | None = None
    q: ldquery.Node | None = None
    attrs: set[str] | None = None
    geo: GeoQuery | None = None
    geoproperty: str = "location"
    ctx: Context | None = None

    def matches(self, entity: dict[str, Any]) -> bool:
        if self.ids is not None and entity["id"] not in self.ids:
            return False
        if self.types is not None and not has_type(entity, self.types):
            return False
        if self.id_pattern is not None and not self.id_pattern.search(entity["id"]):
            return False
        if self.attrs is not None and not any(name in entity for name in self.attrs):
            return False
        expand = self.ctx.expand if self.ctx is not None else str
        if self.q is not None and not ldquery.matches(self.q, entity, expand):
            return False
        return self.geo is None or self.geo.matches(location(entity, self.geoproperty))

    def select(self, entities: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return (e for e in entities if self.matches(e))

    def page(
        self, entities: Iterable[dict[str, Any]], offset: int, limit: int, count: bool
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the selected entities, and their number when asked for (only then is
        every entity tested: a page alone stops where it is full)."""
        if not count:
            return list(itertools.islice(self.select(entities), offset, offset + limit)), None
        found = list(self.select(entities))
        return found[offset : offset + limit], len(found)


def location(entity: dict[str, Any], name: str) -> Any:
    attr = entity.get(name)
    if isinstance(attr, list):
        attr = attr[0] if attr else None
    if not isinstance(attr, dict) or attr.get("type") != "GeoProperty":
        return None
    return geojson_shape(attr.get("value"))


def selection(params: Mapping[str, str], ctx: Context, *, need_one: bool = True) -> Selection:
    """The Selection a request's query parameters describe (400 BadRequestData if broken)."""
    types = _list(params.get("type"))
    ids = _list(params.get("id"))
    attrs = _list(params.get("attrs"))
    pattern = params.get("idPattern")
    try:
        compiled = re.compile(pattern) if pattern is not None else None
    except re.error as e:
        raise LdError(400, "BadRequestData", f"idPattern: {e}") from None
    try:
        q = ldquery.parse(params["q"]) if params.get("q") else None
    except ldquery.QueryError as e:
        raise LdError(400, "BadRequestData", str(e)) from None
    try:
        geo = ld_query(params.get("georel"), params.get("geometry"), params.get("coordinates"))
    except GeoError as e:
        raise LdError(400, "BadRequestData", f"geo-query: {e}") from None
    if need_one and not (types or ids or attrs or compiled or q or geo):
        raise LdError(
            400,
            "BadRequestData",
            "a query needs at least one of type, id, idPattern, attrs, q or a geo-query",
        )
    return Selection(
        types={ctx.expand(t) for t in types} if types else None,
        ids=set(ids) if ids else None,
        id_pattern=compiled,
        q=q,
        attrs={ctx.expand(a) for a in attrs} if attrs else None,
        geo=geo,
        geoproperty=ctx.expand(params.get("geoproperty", "location")),
        ctx=ctx,
    )


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


__all__ = ["Selection", "location", "selection"]
