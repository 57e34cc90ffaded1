"""Read plans: a resource path plus query options to an STA document.

The path is resolved segment by segment (404 as soon as a segment does not exist or is not
related to the one before; in `Datastreams(7)/Observations` Datastream 7 is looked up only
when the page is empty), the final collection is one SQL query (filter, order, keyset,
LIMIT top+1 to learn whether there is a next page), `$count` one more, and each `$expand`
one query per parent (to-many: its own top/skip/order/count/nextLink) or one batch
(to-one); nested expands are batched over all children of a level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import orjson

from gateway.errors import NotFound
from gateway.sensorthings.encode import Links, data_array, encode_entity, plain_value, selection
from gateway.sensorthings.model import EntityType, Rel, target
from gateway.sensorthings.odata import render
from gateway.sensorthings.odata.options import QueryOptions
from gateway.sensorthings.paths import Key, ResourcePath, Segment
from gateway.sensorthings.store.compile import Compiler
from gateway.sensorthings.store.dialect import Dialect, Sql
from gateway.sensorthings.store.order import (
    SortKey,
    decode_token,
    direction,
    encode_token,
    keyset,
    order_sql,
    sort_keys,
)
from gateway.sensorthings.store.plan import Plan, Rows, Stmt

ALIAS = "t"
CHUNK = 5000
UNION_CHUNK = 200  # below SQLite's limit of 500 terms in a compound SELECT
# `$`, `=` and `;` are escaped in values, as FROST does: a `$top=1` inside `$expand` must not
# read as the link's own `$top` to a client that finds it with a regex (Masterportal).
URL_SAFE = "(),/:'@*"


@dataclass(frozen=True)
class ReadContext:
    dialect: Dialect
    links: Links
    default_top: int = 100
    max_top: int = 10000
    next_links: bool = True

    def top(self, options: QueryOptions) -> int:
        return min(self.default_top if options.top is None else options.top, self.max_top)


@dataclass(frozen=True)
class Scope:
    """A collection: every entity of a type, or those related to one parent entity."""

    etype: EntityType
    parent: tuple[EntityType, int, Rel] | None = None


@dataclass(frozen=True)
class Target:
    etype: EntityType
    id: int | None = None
    scope: Scope | None = None
    # A collection's parent not looked up yet (`resolve_target(defer=True)`): the statement
    # that finds it, asked only when the page is empty (see `parent_check`).
    unchecked: tuple[Stmt, str] | None = None


@dataclass
class Page:
    rows: Rows
    more: bool
    count: int | None
    last_keys: list[Any] | None


@dataclass(frozen=True)
class RawValue:
    """The body of `…/property/$value`: text, or None for 204."""

    text: str | None


def query_string(params: dict[str, str]) -> str:
    return "&".join(f"{k}={quote(v, safe=URL_SAFE)}" for k, v in params.items())


def columns(etype: EntityType, alias: str = ALIAS) -> str:
    return ", ".join(f"{alias}.{c}" for c in etype.columns)


def scope_condition(sql: Sql, scope: Scope, alias: str = ALIAS) -> str | None:
    if scope.parent is None:
        return None
    _, pid, rel = scope.parent
    if rel.link is not None:
        link = rel.link
        inner = (
            f"SELECT {link.target_col} FROM {link.table} WHERE {link.source_col} = {sql.param(pid)}"
        )
        return f"{alias}.id IN ({inner})"
    return f"{alias}.{rel.fk} = {sql.param(pid)}"


def _exists(sql: Sql, etype: EntityType, id_: Key, extra: Scope | None) -> Stmt:
    conds = [f"{ALIAS}.id = {sql.param(id_)}"]
    if extra is not None and (cond := scope_condition(sql, extra)):
        conds.append(cond)
    return Stmt(
        f"SELECT {ALIAS}.id FROM {etype.table} {ALIAS} WHERE {' AND '.join(conds)}", sql.params
    )


def resolve_target(d: Dialect, path: ResourcePath, defer: bool = False) -> Plan[Target]:
    """The entity or collection a path names, each segment checked (404 when missing).
    `defer`: a read of `Datastreams(7)/Observations` leaves the look-up of Datastream 7 to
    `parent_check`, after the page: a related row proves the parent (foreign keys), so the
    look-up runs only for an empty page, and most reads save a statement. Only for a parent
    named by its id alone (the first segment): a deeper one must also belong to its own
    parent, which its children do not prove."""
    entity: tuple[EntityType, int] | None = None
    unchecked: tuple[Stmt, str] | None = None
    last = len(path.segments) - 1
    for n, seg in enumerate(path.segments):
        if seg.id is not None and not isinstance(seg.id, int):
            raise NotFound(f"no {seg.type.name} with id {seg.id!r}")
        rel = seg.rel
        if entity is not None and rel is not None and rel.fk_here:
            sql = Sql(d)
            rows = yield Stmt(
                f"SELECT {rel.fk} FROM {entity[0].table} WHERE id = {sql.param(entity[1])}",
                sql.params,
            )
            if not rows or rows[0][0] is None:
                raise NotFound(f"{entity[0].name}({entity[1]}) has no {rel.name}")
            entity = (seg.type, rows[0][0])
            continue
        scope = Scope(seg.type, (entity[0], entity[1], rel) if entity and rel else None)
        if seg.id is None:
            return Target(seg.type, scope=scope, unchecked=unchecked)
        check = _exists(Sql(d), seg.type, seg.id, scope)
        missing = f"no {seg.type.name} with id {seg.id} here"
        if defer and n == 0 and n < last and _children_prove_parent(path.segments[1]):
            unchecked = (check, missing)
            entity = (seg.type, seg.id)
            continue
        rows = yield check
        if not rows:
            raise NotFound(missing)
        entity = (seg.type, seg.id)
    assert entity is not None
    return Target(entity[0], id=entity[1])


def _children_prove_parent(seg: Segment) -> bool:
    """A collection whose rows reference the parent (a foreign key or a link table)."""
    return seg.id is None and seg.rel is not None and not seg.rel.fk_here


def parent_check(found: Target, empty: bool) -> Plan[None]:
    """The deferred look-up of a collection's parent, for an empty page: 404 when missing."""
    if found.unchecked is not None and empty:
        check, missing = found.unchecked
        if not (yield check):
            raise NotFound(missing)


def _conditions(sql: Sql, scope: Scope, options: QueryOptions) -> list[str]:
    conds = []
    if (cond := scope_condition(sql, scope)) is not None:
        conds.append(cond)
    if options.filter is not None:
        conds.append(Compiler(sql, scope.etype, ALIAS).boolean(options.filter))
    return conds


def _where(conds: list[str]) -> str:
    return f" WHERE {' AND '.join(conds)}" if conds else ""


def _page_sql(
    ctx: ReadContext, sql: Sql, scope: Scope, options: QueryOptions, extra: str = ""
) -> tuple[str, list[SortKey]]:
    """One page: the type's columns, then its sort keys (for the nextLink), then `extra`;
    top+1 rows, so that the last one tells whether there is more."""
    etype = scope.etype
    keys = sort_keys(sql, etype, ALIAS, options.orderby)
    conds = _conditions(sql, scope, options)
    if options.skiptoken:
        conds.append(keyset(sql, keys, decode_token(options.skiptoken, len(keys))))
    if options.skip_filter is not None:  # a FROST-style nextLink; not part of $count
        conds.append(Compiler(sql, etype, ALIAS, "$skipFilter").boolean(options.skip_filter))
    key_cols = ", ".join(k.sql for k in keys)
    # Behind a keyset position `$skip` only tells how many entities came before (FROST
    # does the same with its `$skipFilter`); it is no offset then.
    continued = options.skiptoken or options.skip_filter is not None
    limit, offset = sql.param(ctx.top(options) + 1), sql.param(0 if continued else options.skip)
    text = (
        f"SELECT {columns(etype)}, {key_cols}{extra} FROM {etype.table} {ALIAS}{_where(conds)}"
        f" ORDER BY {order_sql(keys)} LIMIT {limit} OFFSET {offset}"
    )
    return text, keys


def _cut(rows: Rows, top: int, ncols: int) -> tuple[Rows, list[Any] | None]:
    more = len(rows) > top
    rows = rows[:top]
    return rows, (list(rows[-1][ncols:]) if more and rows else None)


def page(ctx: ReadContext, scope: Scope, options: QueryOptions) -> Plan[Page]:
    sql = Sql(ctx.dialect)
    text, keys = _page_sql(ctx, sql, scope, options)
    found, last = _cut((yield Stmt(text, sql.params)), ctx.top(options), len(scope.etype.columns))
    count = None
    if options.count:
        count_sql = Sql(ctx.dialect)
        where = _where(_conditions(count_sql, scope, options))
        counted = yield Stmt(
            f"SELECT COUNT(*) FROM {scope.etype.table} {ALIAS}{where}", count_sql.params
        )
        count = int(counted[0][0])
    return Page(found, last is not None, count, last)


def pages(
    ctx: ReadContext, parent: EntityType, rel: Rel, ids: list[int], options: QueryOptions
) -> Plan[list[Page]]:
    """One page per parent, UNION ALL'd into one statement per UNION_CHUNK parents (one
    round trip instead of one per parent), counts likewise."""
    child = target(rel)
    ncols = len(child.columns)
    out: list[Page] = []
    size = min(ctx.dialect.union_chunk, UNION_CHUNK)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        sql = Sql(ctx.dialect)
        parts, keys = [], []
        for i, pid in enumerate(chunk):
            text, keys = _page_sql(
                ctx, sql, Scope(child, (parent, pid, rel)), options, f", {i} AS tb_parent"
            )
            parts.append(f"SELECT * FROM ({text}) AS tb_p{i}")
        position = ncols + len(keys) + 1
        order = ", ".join(f"{ncols + j + 1} {direction(k)}" for j, k in enumerate(keys))
        rows = yield Stmt(
            f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS tb_u ORDER BY {position}, {order}",
            sql.params,
        )
        grouped: list[Rows] = [[] for _ in chunk]
        for row in rows:
            grouped[row[-1]].append(row[:-1])
        counts = (
            (yield from _counts(ctx, parent, rel, chunk, options))
            if options.count
            else [None] * len(chunk)
        )
        for found, count in zip(grouped, counts, strict=True):
            found, last = _cut(found, ctx.top(options), ncols)
            out.append(Page(found, last is not None, count, last))
    return out


def _counts(
    ctx: ReadContext, parent: EntityType, rel: Rel, ids: list[int], options: QueryOptions
) -> Plan[list[int]]:
    child = target(rel)
    sql = Sql(ctx.dialect)
    parts = []
    for i, pid in enumerate(ids):
        where = _where(_conditions(sql, Scope(child, (parent, pid, rel)), options))
        parts.append(
            f"SELECT {i} AS tb_parent, COUNT(*) AS tb_count FROM {child.table} {ALIAS}{where}"
        )
    rows = yield Stmt(" UNION ALL ".join(parts), sql.params)
    counts = [0] * len(ids)
    for index, count in rows:
        counts[int(index)] = int(count)
    return counts


def next_link(
    ctx: ReadContext, url: str, options: QueryOptions, last_keys: list[Any], passed: int
) -> str:
    """FROST's shape: `$top` only where the client set one (capped), `$skip` the entities
    passed so far, then our keyset token. Masterportal stops following a link whose `$top`
    is at most its `$skip`: a client's `$top` is the total it wants, and a link without
    `$top` is a server-driven page it follows to the end."""
    top = None if options.top is None else ctx.top(options)
    continued = replace(
        options, top=top, skip=options.skip + passed, skiptoken=encode_token(last_keys)
    )
    return f"{url}?{query_string(render.options(continued))}"


def limit_met(ctx: ReadContext, options: QueryOptions) -> bool:
    """An expanded set with its own `$top` (within `max_top`) is complete at that many: the
    `$top` is a limit there, not a page size, so it gets no nextLink."""
    return options.top is not None and options.top <= ctx.max_top


def entities(
    ctx: ReadContext, etype: EntityType, rows: Rows, options: QueryOptions
) -> Plan[list[dict[str, Any]]]:
    expanded: list[dict[str, dict[str, Any]]] = [{} for _ in rows]
    for item in options.expand:
        rel = etype.rel[item.rel]
        if rel.many:
            yield from _expand_many(ctx, etype, rel, item.options, rows, expanded)
        else:
            yield from _expand_one(ctx, etype, rel, item.options, rows, expanded)
    want = selection(options.select)
    return [
        encode_entity(etype, row, ctx.links, want, exp)
        for row, exp in zip(rows, expanded, strict=True)
    ]


def _expand_many(
    ctx: ReadContext,
    etype: EntityType,
    rel: Rel,
    options: QueryOptions,
    rows: Rows,
    expanded: list[dict[str, dict[str, Any]]],
) -> Plan[None]:
    child = target(rel)
    found = yield from pages(ctx, etype, rel, [row[0] for row in rows], options)
    children = [r for p in found for r in p.rows]
    encoded = yield from entities(ctx, child, children, options)
    start = 0
    for row, pg, exp in zip(rows, found, expanded, strict=True):
        part: dict[str, Any] = {}
        if pg.count is not None:
            part[f"{rel.name}@iot.count"] = pg.count
        if pg.last_keys is not None and ctx.next_links and not limit_met(ctx, options):
            url = f"{ctx.links.entity(etype, row[0])}/{rel.name}"
            link = next_link(ctx, url, options, pg.last_keys, len(pg.rows))
            part[f"{rel.name}@iot.nextLink"] = link
        part[rel.name] = encoded[start : start + len(pg.rows)]
        start += len(pg.rows)
        exp[rel.name] = part


def _expand_one(
    ctx: ReadContext,
    etype: EntityType,
    rel: Rel,
    options: QueryOptions,
    rows: Rows,
    expanded: list[dict[str, dict[str, Any]]],
) -> Plan[None]:
    child = target(rel)
    fk = etype.column_index[rel.fk or ""]
    ids = sorted({row[fk] for row in rows if row[fk] is not None})
    found: Rows = []
    for i in range(0, len(ids), CHUNK):
        sql = Sql(ctx.dialect)
        conds = [f"{ALIAS}.id IN ({', '.join(sql.param(v) for v in ids[i : i + CHUNK])})"]
        if options.filter is not None:
            conds.append(Compiler(sql, child, ALIAS).boolean(options.filter))
        found += yield Stmt(
            f"SELECT {columns(child)} FROM {child.table} {ALIAS}{_where(conds)}", sql.params
        )
    encoded = yield from entities(ctx, child, found, options)
    by_id = {r[0]: e for r, e in zip(found, encoded, strict=True)}
    for row, exp in zip(rows, expanded, strict=True):
        exp[rel.name] = {rel.name: by_id.get(row[fk])}


def read_collection(
    ctx: ReadContext, path: ResourcePath, found: Target, options: QueryOptions
) -> Plan[dict]:
    asked = options  # the nextLink repeats what was asked ($ref, not the selection it means)
    scope = found.scope
    assert scope is not None
    if path.ref:
        options = replace(options, select=(("@iot.selfLink",),), expand=())
    pg = yield from page(ctx, scope, options)
    yield from parent_check(found, not pg.rows)
    doc: dict[str, Any] = {}
    if pg.count is not None:
        doc["@iot.count"] = pg.count
    if pg.last_keys is not None and ctx.next_links:
        url = ctx.links.path(path)
        doc["@iot.nextLink"] = next_link(ctx, url, asked, pg.last_keys, len(pg.rows))
    if options.result_format == "dataArray" and not path.ref:
        doc["value"] = data_array(scope.etype, pg.rows, ctx.links, options.select)
    else:
        doc["value"] = yield from entities(ctx, scope.etype, pg.rows, options)
    return doc


def read_entity(
    ctx: ReadContext, path: ResourcePath, etype: EntityType, id_: int, options: QueryOptions
) -> Plan[Any]:
    sql = Sql(ctx.dialect)
    rows = yield Stmt(
        f"SELECT {columns(etype)} FROM {etype.table} {ALIAS} WHERE {ALIAS}.id = {sql.param(id_)}",
        sql.params,
    )
    if not rows:
        raise NotFound(f"no {etype.name} with id {id_}")
    if path.ref:
        return {"@iot.selfLink": ctx.links.entity(etype, id_)}
    if path.member is not None:
        return _property(ctx, etype, rows[0], path)
    [doc] = yield from entities(ctx, etype, rows, options)
    return doc


def _property(ctx: ReadContext, etype: EntityType, row: Sequence[Any], path: ResourcePath) -> Any:
    name = path.member or ""
    if name == "id":
        value: Any = ctx.links.key(row[0])
    else:
        value = plain_value(etype.prop[name], row, etype.column_index)
    if not path.value:
        return {name: value}
    if value is None:
        return RawValue(None)
    if isinstance(value, dict | list):
        return RawValue(orjson.dumps(value).decode())
    if isinstance(value, bool):
        return RawValue("true" if value else "false")
    return RawValue(str(value))


def read(ctx: ReadContext, path: ResourcePath, options: QueryOptions) -> Plan[Any]:
    found = yield from resolve_target(ctx.dialect, path, defer=True)
    if found.scope is not None:
        return (yield from read_collection(ctx, path, found, options))
    assert found.id is not None
    return (yield from read_entity(ctx, path, found.etype, found.id, options))
