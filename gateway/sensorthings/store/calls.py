"""`$filter` functions compiled to SQL: string, math, date/time, temporal relations
(before, after, meets, during, overlaps, starts, finishes) and geometry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.sensorthings.odata.ast import Call
from gateway.sensorthings.odata.functions import DATE_PARTS, GEO_PREDICATES, TEMPORAL

if TYPE_CHECKING:
    from gateway.sensorthings.store.compile import Compiler, Expr

MIN_TIME = -62135596800000000  # 0001-01-01T00:00:00Z
MAX_TIME = 253402300799999999  # 9999-12-31T23:59:59.999999Z


def call(c: Compiler, node: Call) -> Expr:
    from gateway.sensorthings.store.compile import Expr, literal_expr

    name = node.name
    args = [c.value(a) for a in node.args]
    if name in STRING_BOOL:
        return Expr(STRING_BOOL[name](c, node, args), "bool")
    if name in STRING_VALUE:
        kind, sql = STRING_VALUE[name](c, node, args)
        return Expr(sql, kind)
    if name in ("round", "floor", "ceiling"):
        return Expr(c.d.rounding(name, c.numeric(node, args[0])), "number")
    if name in DATE_PARTS:
        return Expr(c.d.date_part(name, _time(c, node, args[0])), "number")
    if name == "totaloffsetminutes":
        _time(c, node, args[0])
        return literal_expr("number", 0)
    if name in ("date", "time"):
        return Expr(
            c.d.date_text(_time(c, node, args[0]), name == "time"),
            "date" if name == "date" else "clock",
        )
    if name == "now":
        return literal_expr("time", c.now)
    if name in ("mindatetime", "maxdatetime"):
        return literal_expr("time", MIN_TIME if name == "mindatetime" else MAX_TIME)
    if name in TEMPORAL:
        return Expr(_temporal(c, node, args), "bool")
    return _geo(c, node, args)


def _time(c: Compiler, node: Call, e: Expr) -> str:
    return c.s(c.as_time(node, e))


def _strings(c: Compiler, node: Call, args: list[Expr]) -> list[str]:
    return [c.text(node, a) for a in args]


def _contains(c: Compiler, node: Call, args: list[Expr]) -> str:
    haystack, needle = _strings(c, node, args)
    return f"{c.d.instr(haystack, needle)} > 0"


def _substringof(c: Compiler, node: Call, args: list[Expr]) -> str:
    return _contains(c, node, [args[1], args[0]])


def _startswith(c: Compiler, node: Call, args: list[Expr]) -> str:
    text, prefix = _strings(c, node, args)
    prefix2 = c.text(node, args[1])
    return f"substr({text}, 1, length({prefix})) = {prefix2}"


def _endswith(c: Compiler, node: Call, args: list[Expr]) -> str:
    text, suffix = _strings(c, node, args)
    text2, suffix2 = _strings(c, node, args)
    return f"substr({text}, length({text2}) - length({suffix}) + 1) = {suffix2}"


STRING_BOOL: dict[str, Callable[[Compiler, Call, list[Expr]], str]] = {
    "substringof": _substringof,
    "contains": _contains,
    "startswith": _startswith,
    "endswith": _endswith,
}


def _length(c: Compiler, node: Call, args: list[Expr]) -> tuple[str, str]:
    return "number", f"length({c.text(node, args[0])})"


def _indexof(c: Compiler, node: Call, args: list[Expr]) -> tuple[str, str]:
    text, needle = _strings(c, node, args)
    return "number", f"({c.d.instr(text, needle)} - 1)"


def _substring(c: Compiler, node: Call, args: list[Expr]) -> tuple[str, str]:
    text = c.text(node, args[0])
    start = c.numeric(node, args[1])
    if len(args) == 3:
        length = c.numeric(node, args[2])
        return "string", f"substr({text}, CAST({start} AS INTEGER) + 1, CAST({length} AS INTEGER))"
    return "string", f"substr({text}, CAST({start} AS INTEGER) + 1)"


def _simple(sql_name: str) -> Callable[[Compiler, Call, list[Expr]], tuple[str, str]]:
    def compile_(c: Compiler, node: Call, args: list[Expr]) -> tuple[str, str]:
        return "string", f"{sql_name}({c.text(node, args[0])})"

    return compile_


def _concat(c: Compiler, node: Call, args: list[Expr]) -> tuple[str, str]:
    a, b = _strings(c, node, args)
    return "string", f"({a} || {b})"


STRING_VALUE: dict[str, Callable[[Compiler, Call, list[Expr]], tuple[str, str]]] = {
    "length": _length,
    "indexof": _indexof,
    "substring": _substring,
    "tolower": _simple("lower"),
    "toupper": _simple("upper"),
    "trim": _simple("trim"),
    "concat": _concat,
}


def _temporal(c: Compiler, node: Call, args: list[Expr]) -> str:
    a, b = (c.as_time(node, e) for e in args)
    name = node.name
    if name == "before":
        return f"{c.s_end(a)} < {c.s(b)}"
    if name == "after":
        return f"{c.s(a)} > {c.s_end(b)}"
    if name == "meets":
        return f"({c.s_end(a)} = {c.s(b)} OR {c.s_end(b)} = {c.s(a)})"
    if name == "during":
        return f"({c.s(a)} >= {c.s(b)} AND {c.s_end(a)} <= {c.s_end(b)})"
    if name == "overlaps":
        return f"({c.s(a)} <= {c.s_end(b)} AND {c.s_end(a)} >= {c.s(b)})"
    if name == "starts":
        return f"{c.s(a)} = {c.s(b)}"
    return f"{c.s_end(a)} = {c.s_end(b)}"  # finishes


def _geometry(c: Compiler, node: Call, e: Expr) -> str:
    if e.kind in ("geo", "json"):
        return c.s(e)
    raise c.fail(node, f"{node.name}() needs geometries, not a {e.kind} value")


def _geo(c: Compiler, node: Call, args: list[Expr]) -> Expr:
    from gateway.sensorthings.store.compile import Expr

    geoms = [_geometry(c, node, e) for e in args[:2]]
    name = node.name
    if name in GEO_PREDICATES:
        return Expr(c.d.geo(GEO_PREDICATES[name], geoms), "bool")
    if name == "geo.length":
        return Expr(c.d.geo("length", geoms), "number")
    if name == "geo.distance":
        return Expr(c.d.geo("distance", geoms), "number")
    pattern = args[2]
    if not (pattern.literal and pattern.kind == "string"):
        raise c.fail(node, "st_relate() needs a DE-9IM pattern string as third argument")
    return Expr(c.d.geo("relate", [*geoms, c.s(pattern)]), "bool")
