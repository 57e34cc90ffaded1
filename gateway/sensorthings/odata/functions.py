"""The functions `$filter` knows: arity and the kind of value each returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int
    returns: str  # bool, number, string, time, date, clock


def _many(names: str, n: int, returns: str, most: int | None = None) -> list[Function]:
    return [Function(name, n, most or n, returns) for name in names.split()]


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in [
        *_many("substringof endswith startswith contains", 2, "bool"),
        Function("substring", 2, 3, "string"),
        *_many("length", 1, "number"),
        *_many("indexof", 2, "number"),
        *_many("tolower toupper trim", 1, "string"),
        *_many("concat", 2, "string"),
        *_many("round floor ceiling", 1, "number"),
        *_many(
            "year month day hour minute second fractionalseconds totaloffsetminutes", 1, "number"
        ),
        Function("date", 1, 1, "date"),
        Function("time", 1, 1, "clock"),
        *_many("now mindatetime maxdatetime", 0, "time"),
        *_many("before after meets during overlaps starts finishes", 2, "bool"),
        *_many("geo.intersects", 2, "bool"),
        *_many("geo.length", 1, "number"),
        *_many("geo.distance", 2, "number"),
        *_many(
            "st_equals st_disjoint st_touches st_within st_overlaps st_crosses st_intersects "
            "st_contains",
            2,
            "bool",
        ),
        Function("st_relate", 3, 3, "bool"),
    ]
}
GEO_PREDICATES = {
    "geo.intersects": "intersects",
    "st_equals": "equals",
    "st_disjoint": "disjoint",
    "st_touches": "touches",
    "st_within": "within",
    "st_overlaps": "overlaps",
    "st_crosses": "crosses",
    "st_intersects": "intersects",
    "st_contains": "contains",
}
TEMPORAL = ("before", "after", "meets", "during", "overlaps", "starts", "finishes")
DATE_PARTS = ("year", "month", "day", "hour", "minute", "second", "fractionalseconds")
