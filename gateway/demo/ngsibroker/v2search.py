"""Which entities a v2 query selects, in which order, and how each is rendered.

The criteria (`id`, `type`, `idPattern`, `typePattern`, `q`, `mq`, a geo-query) combine
with AND. `orderBy` sorts as MongoDB does under Orion: by type first (missing and null <
numbers < strings < objects < arrays < booleans), then by value; DateTime attributes sort as
instants; ties keep creation order. Rendering follows the manual's representations
(normalized, `keyValues`, `values`, `unique`) with `attrs` and `metadata` filtering.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from shapely.geometry.base import BaseGeometry

from gateway.demo.ngsibroker import geo
from gateway.demo.ngsibroker.store import BrokerError, Entity, bad_request
from gateway.demo.ngsibroker.v2query import (
    MISSING,
    QueryError,
    Statement,
    holds,
    parse,
    parse_datetime,
    walk,
)

_RANKS = ((bool, 5), (int | float, 1), (str, 2), (dict, 3), (list, 4))


@dataclass(frozen=True)
class Search:
    ids: frozenset[str] | None = None
    id_pattern: re.Pattern[str] | None = None
    types: frozenset[str] | None = None
    type_pattern: re.Pattern[str] | None = None
    q: tuple[Statement, ...] = ()
    mq: tuple[Statement, ...] = ()
    geo: geo.GeoQuery | None = None


def _pattern(text: str | None, what: str) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error:
        raise bad_request(f"invalid regex in {what}") from None


def _list(text: str | None) -> frozenset[str] | None:
    return None if text is None else frozenset(t for t in text.split(",") if t)


def search_of(params: Mapping[str, Any], expression: Mapping[str, Any] | None = None) -> Search:
    """The criteria of a query's parameters (GET) or of POST /v2/op/query's `expression`."""
    source = {**params, **(expression or {})}
    if "id" in source and "idPattern" in source:
        raise bad_request("Incompatible parameters: id, IdPattern")
    if "type" in source and "typePattern" in source:
        raise bad_request("Incompatible parameters: type, typePattern")
    try:
        q = parse(source["q"]) if source.get("q") is not None else ()
        mq = parse(source["mq"]) if source.get("mq") is not None else ()
        where = geo.v2_query(source.get("georel"), source.get("geometry"), source.get("coords"))
    except (QueryError, geo.GeoError) as e:
        raise bad_request(str(e)) from None
    return Search(
        _list(source.get("id")),
        _pattern(source.get("idPattern"), "idPattern"),
        _list(source.get("type")),
        _pattern(source.get("typePattern"), "typePattern"),
        q,
        mq,
        where,
    )


def location(entity: Entity) -> BaseGeometry | None:
    """The entity's location for geo-queries: its one location attribute, or the one with
    `defaultLocation` metadata true; several otherwise -> 409 (the manual's rule). Kept
    on the entity until it changes (each write calls `touch`)."""
    if entity.cached_location is None or entity.cached_location[0] != entity.modified:
        entity.cached_location = (entity.modified, _location(entity))
    return entity.cached_location[1]


def _location(entity: Entity) -> BaseGeometry | None:
    found = [(name, attr) for name, attr in entity.attrs.items() if attr.type in geo.LOCATION_TYPES]
    if len(found) > 1:
        default = [
            item
            for item in found
            if item[1].metadata.get("defaultLocation", {}).get("value") is True
        ]
        if len(default) != 1:
            raise BrokerError(409, "TooManyResults", f"ambiguous location of entity {entity.id}")
        found = default
    if not found:
        return None
    return geo.attribute_location(found[0][1].type, found[0][1].value)


def _q_holds(entity: Entity, st: Statement) -> bool:
    attr = entity.attribute(st.path[0])
    if attr is None:
        return holds(st, MISSING, False)
    target = walk(attr.value, st.path[1:])
    return holds(st, target, attr.type == "DateTime" and len(st.path) == 1)


def _mq_holds(entity: Entity, st: Statement) -> bool:
    if len(st.path) < 2:
        raise bad_request("mq needs attribute.metadata")
    attr = entity.attrs.get(st.path[0])
    meta = None if attr is None else attr.metadata.get(st.path[1])
    if meta is None:
        return holds(st, MISSING, False)
    target = walk(meta.get("value"), st.path[2:])
    return holds(st, target, meta.get("type") == "DateTime" and len(st.path) == 2)


def matches(entity: Entity, s: Search) -> bool:
    if s.ids is not None and entity.id not in s.ids:
        return False
    if s.id_pattern is not None and not s.id_pattern.search(entity.id):
        return False
    if s.types is not None and entity.type not in s.types:
        return False
    if s.type_pattern is not None and not s.type_pattern.search(entity.type):
        return False
    if not all(_q_holds(entity, st) for st in s.q):
        return False
    if not all(_mq_holds(entity, st) for st in s.mq):
        return False
    return s.geo is None or s.geo.matches(location(entity))


def select(entities: Iterable[Entity], s: Search) -> list[Entity]:
    return [e for e in entities if matches(e, s)]


# --- ordering ----------------------------------------------------------------------------


def _sort_key(entity: Entity, name: str) -> tuple[int, Any]:
    if name == "id":
        return (2, entity.id)
    if name == "type":
        return (2, entity.type)
    attr = entity.attribute(name)
    if attr is None or attr.value is None:
        return (0, 0)
    value = attr.value
    if attr.type == "DateTime" and isinstance(value, str):
        stamp = parse_datetime(value)
        if stamp is not None:
            return (1, stamp)
    for kind, rank in _RANKS:
        if isinstance(value, kind):
            return (rank, orjson.dumps(value) if rank in (3, 4) else value)
    return (0, 0)


def order(entities: list[Entity], order_by: str | None, s: Search) -> list[Entity]:
    """Creation order, or `orderBy` (`a,!b`, `geo:distance` with a near query)."""
    found = sorted(entities, key=lambda e: e.seq)
    if not order_by:
        return found
    if order_by == "geo:distance":
        if s.geo is None or s.geo.relation != "near":
            raise bad_request("orderBy=geo:distance needs georel=near")
        reference = s.geo.shape
        return sorted(found, key=lambda e: geo.distance(reference, location(e)))  # type: ignore[arg-type]
    for item in reversed(order_by.split(",")):
        descending = item.startswith("!")
        name = item[1:] if descending else item
        if not name:
            raise bad_request("empty field in orderBy")
        found.sort(key=lambda e, n=name: _sort_key(e, n), reverse=descending)
    return found


# --- rendering ---------------------------------------------------------------------------


def attribute_names(entity: Entity, attrs: list[str] | None) -> list[str]:
    """The attributes a response shows: all user ones, or those of `attrs` in its order
    (`*` for all user ones; builtins only when named)."""
    if attrs is None:
        return list(entity.attrs)
    names: list[str] = []
    for name in attrs:
        if name == "*":
            names.extend(n for n in entity.attrs if n not in names)
        elif name not in names and entity.attribute(name) is not None:
            names.append(name)
    return names


def render(entity: Entity, mode: str, attrs: list[str] | None, metadata: list[str] | None) -> Any:
    """One entity as `normalized`, `keyValues`, `values` or `unique` shows it."""
    names = attribute_names(entity, attrs)
    found = [(n, entity.attribute(n)) for n in names]
    if mode in ("values", "unique"):
        return [a.value for _, a in found if a is not None]
    doc: dict[str, Any] = {"id": entity.id, "type": entity.type}
    for name, attr in found:
        if attr is not None:
            doc[name] = attr.value if mode == "keyValues" else attr.render(metadata)
    return doc


def render_all(
    entities: list[Entity], mode: str, attrs: list[str] | None, metadata: list[str] | None
) -> list[Any]:
    docs = [render(e, mode, attrs, metadata) for e in entities]
    if mode != "unique":
        return docs
    seen: set[bytes] = set()
    kept = []
    for doc in docs:
        key = orjson.dumps(doc)
        if key not in seen:
            seen.add(key)
            kept.append(doc)
    return kept


__all__ = [
    "Search",
    "attribute_names",
    "location",
    "matches",
    "order",
    "render",
    "render_all",
    "search_of",
    "select",
]
