"""Sort keys and keyset paging.

Every list is ordered by its `$orderby` expressions (or the type's default, e.g.
Observations by phenomenonTime) and then by id (in the direction of the last key), so the
order is total. Each sort key is
also selected, and a nextLink carries the last row's key values in `$skiptoken`; the next
page continues *after* those values (NULLs first ascending, last descending, the same in
both dialects). Pages stay stable while observations are being added, and deep pages cost
no more than the first one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.errors import InvalidParameter
from gateway.sensorthings.model import EntityType
from gateway.sensorthings.odata.ast import Path
from gateway.sensorthings.odata.options import OrderItem
from gateway.sensorthings.store.compile import Compiler
from gateway.sensorthings.store.dialect import Sql
from gateway.sensorthings.store.joins import Leaf


@dataclass(frozen=True)
class SortKey:
    sql: str
    descending: bool = False
    not_null: bool = False
    json: bool = False


def default_order(etype: EntityType) -> tuple[OrderItem, ...]:
    return tuple(OrderItem(Path(0, (name,))) for name in etype.default_order)


def sort_keys(
    sql: Sql, etype: EntityType, alias: str, orderby: tuple[OrderItem, ...]
) -> list[SortKey]:
    compiler = Compiler(sql, etype, alias, "$orderby")
    keys: list[SortKey] = []
    for item in orderby or default_order(etype):
        keys += _item_keys(compiler, item)
    id_sql = f"{alias}.id"
    if not any(k.sql == id_sql for k in keys):
        # The tie-breaker runs the way the last key does, so that an index on
        # (parent, key, id) serves `phenomenonTime desc` by scanning backwards.
        keys.append(SortKey(id_sql, keys[-1].descending if keys else False, True))
    return keys


def _item_keys(c: Compiler, item: OrderItem) -> list[SortKey]:
    leaf = c.leaf = Leaf(c)
    try:
        e = c.value(item.expr)
    finally:
        c.leaf = None
    if e.kind == "geo":
        raise InvalidParameter("$orderby", "geometries cannot be ordered")
    if e.kind == "result":
        parts = [(f"{e.sql}.result_number", False, False), (f"{e.sql}.result_string", False, False)]
    else:
        parts = [(c.s(e), e.not_null, e.kind == "json")]
    if leaf.joins:
        if leaf.many:
            raise InvalidParameter(
                "$orderby", "cannot order by a property of many related entities"
            )
        parts = [(f"(SELECT {s} {leaf.from_where()})", False, j) for s, _, j in parts]
    return [SortKey(s, item.descending, nn, j) for s, nn, j in parts]


def direction(key: SortKey) -> str:
    """NULLs sort first ascending and last descending in both dialects; for keys that
    cannot be NULL nothing is said, so that PostgreSQL may scan an index backwards."""
    if key.not_null:
        return "DESC" if key.descending else "ASC"
    return "DESC NULLS LAST" if key.descending else "ASC NULLS FIRST"


def order_sql(keys: list[SortKey]) -> str:
    return ", ".join(f"{k.sql} {direction(k)}" for k in keys)


def _bind(sql: Sql, key: SortKey, value: Any) -> str:
    if key.json and sql.dialect.name == "postgres":
        return sql.json_param(value if isinstance(value, str) else orjson.dumps(value).decode())
    return sql.param(value)


def _equal(sql: Sql, key: SortKey, value: Any) -> str:
    return f"{key.sql} IS NULL" if value is None else f"{key.sql} = {_bind(sql, key, value)}"


def _after(sql: Sql, key: SortKey, value: Any) -> str | None:
    if value is None:
        return None if key.descending else f"{key.sql} IS NOT NULL"
    if key.descending:
        nulls = "" if key.not_null else f" OR {key.sql} IS NULL"
        return f"({key.sql} < {_bind(sql, key, value)}{nulls})"
    return f"{key.sql} > {_bind(sql, key, value)}"


def keyset(sql: Sql, keys: list[SortKey], values: Sequence[Any]) -> str:
    """Rows strictly after `values` in the order of `keys`."""
    directions = {k.descending for k in keys}
    if len(directions) == 1 and all(k.not_null for k in keys) and None not in values:
        left = ", ".join(k.sql for k in keys)
        right = ", ".join(_bind(sql, k, v) for k, v in zip(keys, values, strict=True))
        return f"({left}) {'<' if keys[0].descending else '>'} ({right})"
    ors = []
    for i, key in enumerate(keys):
        after = _after(sql, key, values[i])
        if after is not None:
            ors.append(" AND ".join([*(_equal(sql, keys[j], values[j]) for j in range(i)), after]))
    return f"(({') OR ('.join(ors)}))" if ors else sql.dialect.false


def encode_token(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_token(token: str, count: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidParameter("$skiptoken", "not a token this server issued") from None
    ok = isinstance(values, list) and len(values) == count
    if not ok or not all(v is None or isinstance(v, bool | int | float | str) for v in values):
        raise InvalidParameter("$skiptoken", "not a token for this query")
    return values
