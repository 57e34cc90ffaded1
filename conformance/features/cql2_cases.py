"""Test cases for CQL2, generated from the collection's own data: properties are classified
by their values (and the queryables, when published), literals are taken from the values
present, so every case selects a meaningful part of the collection."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import Polygon, box

from conformance.features.cql2 import Expr, accenti, geometry_literal, op, prop
from conformance.timeutil import value_span


@dataclass
class Columns:
    """The collection's properties by kind, most useful first."""

    strings: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    geometry: str = "geometry"
    point_data: bool = False


def _kind(values: list[Any]) -> str | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "number"
    if all(isinstance(v, str) for v in present):
        spans = [value_span(v) for v in present]
        if all(s is not None and s[2] for s in spans):
            return "date"
        return "string"
    return None


def columns(features: list[dict[str, Any]], queryables: dict[str, Any] | None) -> Columns:
    values: dict[str, list[Any]] = {}
    for f in features:
        for name, value in (f.get("properties") or {}).items():
            values.setdefault(name, []).append(value)
    cols = Columns()
    for name, schema in (queryables or {}).items():
        if isinstance(schema, dict) and str(schema.get("format", "")).startswith("geometry"):
            cols.geometry = name
    allowed = set(queryables) if queryables else set(values)
    for name, vals in values.items():
        if name not in allowed or len({repr(v) for v in vals}) < 2:
            continue
        kind = _kind(vals)
        if kind == "string":
            cols.strings.append(name)
        elif kind == "number":
            cols.numbers.append(name)
        elif kind == "date":
            cols.dates.append(name)
    distinct = {n: len({repr(v) for v in vs}) for n, vs in values.items()}
    nulls = {n: sum(v is None for v in vs) for n, vs in values.items()}
    cols.strings.sort(key=lambda n: (distinct[n], n))  # few distinct values first (codes)
    cols.numbers.sort(key=lambda n: (-min(nulls[n], 1), -distinct[n], n))  # with nulls first
    cols.point_data = bool(features) and all(
        (f.get("geometry") or {}).get("type") == "Point" for f in features
    )
    return cols


def common_values(features: list[dict], name: str, n: int = 2) -> list[Any]:
    counts = Counter(
        (f.get("properties") or {}).get(name)
        for f in features
        if (f.get("properties") or {}).get(name) is not None
    )
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]]


def _quantiles(features: list[dict], name: str) -> tuple[Any, Any, Any]:
    values = sorted(v for f in features if (v := (f.get("properties") or {}).get(name)) is not None)
    return values[len(values) // 4], values[len(values) // 2], values[3 * len(values) // 4]


@dataclass
class Data:
    features: list[dict[str, Any]]
    cols: Columns
    quadrant: list[float] | None  # a box whose inner edges fall between coordinates


def comparison(d: Data) -> list[Expr]:
    out: list[Expr] = []
    for s in d.cols.strings[:1]:
        v = common_values(d.features, s)[0]
        out += [op("=", prop(s), v), op("<>", prop(s), v)]
    for n in d.cols.numbers[:1]:
        _, m, _ = _quantiles(d.features, n)
        out += [op(">", prop(n), m), op("<=", prop(n), m), op("=", prop(n), m)]
    for t in d.cols.dates[:1]:
        _, m, _ = _quantiles(d.features, t)
        out += [op("=", prop(t), {"date": m}), op(">=", prop(t), {"date": m})]
    return out


def logical(d: Data) -> list[Expr]:
    if not d.cols.strings or not d.cols.numbers:
        return []
    s, n = d.cols.strings[0], d.cols.numbers[0]
    v, v2 = (common_values(d.features, s) * 2)[:2]
    _, m, _ = _quantiles(d.features, n)
    either = op("or", op("=", prop(s), v), op("=", prop(s), v2))
    return [
        op("and", op("=", prop(s), v), op(">", prop(n), m)),
        either,
        op("not", op("=", prop(s), v)),
        op("and", either, op("not", op("<=", prop(n), m))),
    ]


def null(d: Data) -> list[Expr]:
    names = (d.cols.numbers + d.cols.strings)[:1]
    return [e for n in names for e in (op("isNull", prop(n)), op("not", op("isNull", prop(n))))]


def like(d: Data) -> list[Expr]:
    out: list[Expr] = []
    for s in d.cols.strings[:2]:
        v = str(common_values(d.features, s)[0])
        if len(v) >= 3:
            out += [op("like", prop(s), v[:3] + "%"), op("like", prop(s), "_" + v[1:])]
    return out


def between(d: Data) -> list[Expr]:
    out: list[Expr] = []
    for n in d.cols.numbers[:1]:
        q1, _, q3 = _quantiles(d.features, n)
        out.append(op("between", prop(n), q1, q3))
    return out


def in_list(d: Data) -> list[Expr]:
    out: list[Expr] = []
    for s in d.cols.strings[:1]:
        out.append(op("in", prop(s), common_values(d.features, s, 2)))
    for n in d.cols.numbers[:1]:
        out.append(op("in", prop(n), common_values(d.features, n, 2)))
    return out


def _non_ascii(d: Data, names: list[str]) -> tuple[str, str] | None:
    for s in names:
        for v in common_values(d.features, s, 50):
            if isinstance(v, str) and not v.isascii():
                return s, v
    return None


def casei(d: Data) -> list[Expr]:
    found = _non_ascii(d, d.cols.strings) or (
        (d.cols.strings[0], str(common_values(d.features, d.cols.strings[0])[0]))
        if d.cols.strings
        else None
    )
    if found is None:
        return []
    s, v = found
    return [
        op("=", op("casei", prop(s)), op("casei", v.upper())),
        op("like", op("casei", prop(s)), op("casei", v[:3].upper() + "%")),
    ]


def accent(d: Data) -> list[Expr]:
    for s in d.cols.strings:
        for v in common_values(d.features, s, 50):
            plain = accenti(v) if isinstance(v, str) else v
            if isinstance(v, str) and plain != v:
                return [op("=", op("accenti", prop(s)), op("accenti", plain))]
    return []


def _polygon(d: Data) -> Polygon | None:
    if d.quadrant is None:
        return None
    w, s, e, n = d.quadrant
    return Polygon([(w, s), (e, s), (w, n), (w, s)])


def basic_spatial(d: Data) -> list[Expr]:
    if d.quadrant is None:
        return []
    return [op("s_intersects", prop(d.cols.geometry), {"bbox": d.quadrant})]


def _a_point(d: Data) -> dict | None:
    for f in d.features:
        if (f.get("geometry") or {}).get("type") == "Point":
            return f["geometry"]
    return None


def spatial_plus(d: Data) -> list[Expr]:
    triangle, point = _polygon(d), _a_point(d)
    out: list[Expr] = []
    if triangle is not None:
        out.append(op("s_intersects", prop(d.cols.geometry), geometry_literal(triangle)))
    if point is not None:
        out.append(op("s_intersects", prop(d.cols.geometry), point))
    return out


def spatial(d: Data) -> list[Expr]:
    if d.quadrant is None:
        return []
    area = geometry_literal(box(*d.quadrant))
    g = prop(d.cols.geometry)
    out: list[Expr] = [op("s_within", g, area), op("s_disjoint", g, area)]
    point = _a_point(d)
    if point is not None and d.cols.point_data:
        out.append(op("s_equals", g, point))
    return out


def temporal(d: Data) -> list[Expr]:
    out: list[Expr] = []
    for t in d.cols.dates[:1]:
        q1, m, q3 = _quantiles(d.features, t)
        day, span = {"date": m}, {"interval": [q1, q3]}
        out += [
            op("t_before", prop(t), day),
            op("t_after", prop(t), day),
            op("t_equals", prop(t), day),
            op("t_intersects", prop(t), span),
            op("t_disjoint", prop(t), span),
        ]
    return out


def property_property(d: Data) -> list[Expr]:
    """Two numbers, else two dates (ISO dates order alike as text and as dates)."""
    for names in (d.cols.numbers, d.cols.dates):
        if len(names) >= 2:
            a, b = (prop(n) for n in names[:2])
            return [op("<", a, b), op(">=", a, b)]
    return []


def arithmetic(d: Data) -> list[Expr]:
    out: list[Expr] = []
    for n in d.cols.numbers[:1]:
        _, m, _ = _quantiles(d.features, n)
        out += [op(">", op("+", prop(n), 10), m + 10), op("<", op("*", prop(n), 2), m)]
    return out


GENERATORS: dict[str, Callable[[Data], list[Expr]]] = {
    "comparison": comparison,
    "logical": logical,
    "null": null,
    "like": like,
    "between": between,
    "in": in_list,
    "casei": casei,
    "accenti": accent,
    "basic-spatial": basic_spatial,
    "spatial-plus": spatial_plus,
    "spatial": spatial,
    "temporal": temporal,
    "property-property": property_property,
    "arithmetic": arithmetic,
}


def is_accented(text: str) -> bool:
    return any(unicodedata.category(c) == "Mn" for c in unicodedata.normalize("NFD", text))
