"""The facade side of filtering: the `filter`, `filter-lang` and `filter-crs` parameters, a
CQL2-JSON body of `POST .../items`, and queryables given as parameters, combined into one
filter expression in the collection's property names."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from threading import Lock
from typing import Any

import orjson
from cachetools import LRUCache
from starlette.requests import Request

from connectors.filters import Call, Expr, Literal, Property, walk
from gateway.bodies import read_body
from gateway.config import QuerySettings
from gateway.errors import InvalidParameter
from gateway.query import cql2

FILTER_PARAMS = ("filter", "filter-lang", "filter-crs")
LANGUAGES = ("cql2-text", "cql2-json", "cql-text")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
NUL_REFUSED = "NUL characters are not allowed in strings"
_PARSED: LRUCache[tuple[Any, ...], Expr] = LRUCache(maxsize=256)
_PARSED_LOCK = Lock()


async def read_filter_body(request: Request, limit: int) -> Any:
    """The CQL2-JSON filter OWSLib posts to `.../items` (Content-Type application/json), at
    most `limit` bytes (413 beyond, counted while it streams in)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/query-cql-json", ""):
        raise InvalidParameter("body", f"expected a CQL2-JSON body, not '{media}'")
    body = await read_body(request, limit)
    if not body.strip():
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidParameter("body", f"not JSON: {e}") from None
    # OWSLib sends the expression itself; some clients wrap it as {"filter": ...}.
    if isinstance(data, dict) and "filter" in data and "op" not in data:
        data = data["filter"]
    if data is None:  # an empty body is no filter; a JSON null is not a filter
        raise InvalidParameter("filter", "null is not a CQL2-JSON expression")
    return data


def _has_nul(value: Any) -> bool:
    """A NUL character in a string literal (or a list of them): no source keeps one, and
    PostgreSQL refuses it as invalid data. Refused here, so that the answer is the same 400
    over every source instead of an empty page over files."""
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, tuple | list) and any(_has_nul(v) for v in value)


def _typed(value: str, schema: dict[str, Any], name: str) -> Any:
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    try:
        if "integer" in types:
            return int(value)
        if "number" in types:
            number = float(value)
            if not math.isfinite(number):  # 'nan', 'inf', '1e999'
                raise ValueError(value)
            return number
    except ValueError:
        raise InvalidParameter(name, f"'{value[:40]}' is not a finite number") from None
    if "boolean" in types and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if types == ["boolean"]:
        raise InvalidParameter(name, f"'{value[:40]}' is neither true nor false")
    fmt = schema.get("format")
    if fmt in ("date", "date-time") and not _is_temporal(value, fmt):
        raise InvalidParameter(name, f"'{value[:40]}' is not an RFC 3339 {fmt}")
    return value


def _is_temporal(value: str, fmt: str) -> bool:
    """A queryable parameter of format date or date-time holds one (its OpenAPI schema
    says so), so a typo is a 400 rather than an empty page."""
    if not (_DATE if fmt == "date" else _DATE_TIME).fullmatch(value):
        return False
    try:
        if fmt == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def filter_limits(settings: QuerySettings) -> cql2.Limits:
    """The parser's limits with the configured bounds on LIKE patterns."""
    return cql2.Limits(like_length=settings.like_length, like_wildcards=settings.like_wildcards)


def parse_text(
    text: str,
    lang: str,
    queryables: dict[str, dict[str, Any]],
    crs: str | None,
    limits: cql2.Limits | None = None,
) -> Expr:
    """`cql2.parse` of a `filter` parameter, once per text, filter-lang, filter-crs and the
    queryables' names and kinds (all the parser reads of them): a client paging through
    the results sends the same filter with every page.

    Sharing one AST between requests is safe: its nodes are frozen dataclasses and its
    literals immutable (numbers, strings, dates, tuples, shapely geometries, which
    evaluate.py at most prepares in place). A filter that fails is not kept, so it fails
    with its 400 every time."""
    kinds = tuple((name, cql2.schema_kind(schema)) for name, schema in queryables.items())
    key = (text, lang, crs, kinds, limits)
    with _PARSED_LOCK:
        found = _PARSED.get(key)
    if found is None:
        found = cql2.parse(text, lang, queryables, crs, limits=limits)
        with _PARSED_LOCK:
            _PARSED[key] = found
    return found


def parse_filters(
    standard: dict[str, str],
    by_queryable: dict[str, str],
    queryables: dict[str, dict[str, Any]],
    body: Any = None,
    limits: cql2.Limits | None = None,
) -> Expr | None:
    lang = standard.get("filter-lang")
    if lang is not None and lang not in LANGUAGES:
        raise InvalidParameter("filter-lang", f"'{lang}' is not one of {', '.join(LANGUAGES)}")
    text = standard.get("filter")
    if text is not None and body is not None:
        raise InvalidParameter("filter", "given both as a parameter and as a request body")
    terms: list[Expr] = []
    if body is not None:
        crs = standard.get("filter-crs")
        terms.append(cql2.parse(body, "cql2-json", queryables, crs, limits=limits))
    elif text is not None:
        crs = standard.get("filter-crs")
        terms.append(parse_text(text, lang or "cql2-text", queryables, crs, limits))
    elif "filter-crs" in standard:  # without a filter it selects nothing, but must be valid
        cql2.parse("TRUE", "cql2-text", {}, standard["filter-crs"])
    if terms and any(_has_nul(n.value) for n in walk(terms[0]) if isinstance(n, Literal)):
        raise InvalidParameter("filter", NUL_REFUSED)
    for name, value in by_queryable.items():
        if "\x00" in value:
            raise InvalidParameter(name, NUL_REFUSED)
        terms.append(Call("=", (Property(name), Literal(_typed(value, queryables[name], name)))))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else Call("and", tuple(terms))
