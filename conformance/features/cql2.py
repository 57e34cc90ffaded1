"""CQL2 expressions for the filter checks: built as CQL2-JSON, written as CQL2-Text, and
evaluated by the suite itself (three-valued: True, False or None for NULL), so expected
results come from the suite's own reading of the standard and the unfiltered items, not
from the server or a library the server may share.

Only what the generated test cases use is implemented: logical operators, comparisons,
LIKE, BETWEEN, IN, IS NULL, CASEI, ACCENTI, arithmetic, the S_* functions on GeoJSON
geometries and the T_* functions on instants of one granularity (dates or timestamps).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import date
from typing import Any

from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from conformance.timeutil import parse_rfc3339

Expr = Any  # CQL2-JSON: dict | str | int | float | bool | list
COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
ARITHMETIC = {"+", "-", "*", "/"}
SPATIAL = {
    "s_intersects": "intersects",
    "s_within": "within",
    "s_disjoint": "disjoint",
    "s_contains": "contains",
    "s_equals": "equals",
    "s_touches": "touches",
}
TEMPORAL = {"t_before", "t_after", "t_equals", "t_intersects", "t_disjoint"}


def prop(name: str) -> dict[str, str]:
    return {"property": name}


def op(name: str, *args: Expr) -> dict[str, Any]:
    return {"op": name, "args": list(args)}


# ---- CQL2-Text ---------------------------------------------------------------------------


def _identifier(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) else '"' + name + '"'


def _number(v: float) -> str:
    return str(int(v)) if isinstance(v, int) or float(v).is_integer() else repr(float(v))


def _wkt(geometry: dict[str, Any]) -> str:
    from shapely import to_wkt

    return to_wkt(shape(geometry), trim=True, rounding_precision=-1)


def to_text(e: Expr) -> str:
    if isinstance(e, bool):
        return "TRUE" if e else "FALSE"
    if isinstance(e, int | float):
        return _number(e)
    if isinstance(e, str):
        return "'" + e.replace("'", "''") + "'"
    if isinstance(e, list):
        return "(" + ", ".join(to_text(x) for x in e) + ")"
    if "property" in e:
        return _identifier(e["property"])
    if "date" in e:
        return f"DATE('{e['date']}')"
    if "timestamp" in e:
        return f"TIMESTAMP('{e['timestamp']}')"
    if "interval" in e:
        return "INTERVAL(" + ", ".join(f"'{x}'" for x in e["interval"]) + ")"
    if "bbox" in e:
        return "BBOX(" + ", ".join(_number(v) for v in e["bbox"]) + ")"
    if "type" in e and "coordinates" in e:
        return _wkt(e)
    return _op_text(e["op"], e["args"])


def _op_text(name: str, args: list[Expr]) -> str:
    a = [to_text(x) for x in args]
    if name in ("and", "or"):
        return "(" + f" {name.upper()} ".join(a) + ")"
    if name == "not":
        return f"NOT ({a[0]})"
    if name in COMPARISONS or name in ARITHMETIC:
        return f"({a[0]} {name} {a[1]})" if name in ARITHMETIC else f"{a[0]} {name} {a[1]}"
    if name == "like":
        return f"{a[0]} LIKE {a[1]}"
    if name == "between":
        return f"{a[0]} BETWEEN {a[1]} AND {a[2]}"
    if name == "in":
        return f"{a[0]} IN {a[1]}"
    if name == "isNull":
        return f"{a[0]} IS NULL"
    return f"{name.upper()}({', '.join(a)})"


def to_json_text(e: Expr) -> str:
    return json.dumps(e, ensure_ascii=False, separators=(",", ":"))


# ---- evaluation ----------------------------------------------------------------------------


class Ambiguous(Exception):
    """The standard leaves the outcome open for this item; the check ignores it."""


def accenti(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    )


def like(value: str, pattern: str) -> bool:
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            regex, i = regex + re.escape(pattern[i + 1]), i + 2
            continue
        regex += ".*" if c == "%" else "." if c == "_" else re.escape(c)
        i += 1
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


class Evaluator:
    def __init__(self, geometry_name: str = "geometry") -> None:
        self.geometry_name = geometry_name

    def __call__(self, e: Expr, feature: dict[str, Any]) -> bool | None:
        result = self.value(e, feature)
        if result is not None and not isinstance(result, bool):
            raise Ambiguous(f"not a predicate: {e!r}")
        return result

    def value(self, e: Expr, f: dict[str, Any]) -> Any:
        if isinstance(e, bool | int | float | str | list):
            return [self.value(x, f) for x in e] if isinstance(e, list) else e
        if "property" in e:
            name = e["property"]
            if name == self.geometry_name:
                return shape(f["geometry"]) if f.get("geometry") else None
            return (f.get("properties") or {}).get(name)
        if "date" in e:
            return date.fromisoformat(e["date"])
        if "timestamp" in e:
            return parse_rfc3339(e["timestamp"])
        if "interval" in e:
            return tuple(
                self.value({"date": x} if len(x) == 10 else {"timestamp": x}, f)
                for x in e["interval"]
            )
        if "bbox" in e:
            return box(*e["bbox"][:2], *e["bbox"][-2:])
        if "coordinates" in e:
            return shape(e)
        return self.apply(e["op"], e["args"], f)

    def apply(self, name: str, args: list[Expr], f: dict[str, Any]) -> Any:
        if name in ("and", "or", "not"):
            return self.logical(name, [self(a, f) for a in args])
        v = [self.value(a, f) for a in args]
        if name in ("casei", "accenti"):
            return None if v[0] is None else (v[0].casefold() if name == "casei" else accenti(v[0]))
        if name == "isNull":
            return v[0] is None
        if any(x is None for x in v) or (name == "in" and None in v[1]):
            return None
        if name in COMPARISONS:
            return compare(name, *coerce(v[0], v[1]))
        if name in ARITHMETIC:
            return arithmetic(name, v[0], v[1])
        if name == "like":
            return like(v[0], v[1])
        if name == "between":
            return v[1] <= v[0] <= v[2]
        if name == "in":
            return v[0] in v[1]
        if name in SPATIAL:
            return bool(getattr(v[0], SPATIAL[name])(v[1]))
        if name in TEMPORAL:
            return temporal(name, v[0], v[1])
        raise Ambiguous(f"operator {name} not evaluated by the suite")

    @staticmethod
    def logical(name: str, values: list[bool | None]) -> bool | None:
        if name == "not":
            return None if values[0] is None else not values[0]
        if name == "and":
            return False if False in values else None if None in values else True
        return True if True in values else None if None in values else False


def coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Property values (strings) compared with date or timestamp literals become dates."""
    for x, y, swap in ((a, b, False), (b, a, True)):
        if isinstance(y, date) and isinstance(x, str):
            moment = parse_rfc3339(x)
            x = moment if moment else date.fromisoformat(x) if len(x) == 10 else x
            return (y, x) if swap else (x, y)
    return a, b


def compare(name: str, a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
        raise Ambiguous("comparison of different types")
    try:
        return {
            "=": lambda: a == b,
            "<>": lambda: a != b,
            "<": lambda: a < b,
            "<=": lambda: a <= b,
            ">": lambda: a > b,
            ">=": lambda: a >= b,
        }[name]()
    except TypeError:
        raise Ambiguous("comparison of different types") from None


def arithmetic(name: str, a: float, b: float) -> float:
    if name == "/" and b == 0:
        raise Ambiguous("division by zero")
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.nan}[name]


def temporal(name: str, a: Any, b: Any) -> bool:
    lo, hi = b if isinstance(b, tuple) else (b, b)
    a = coerce(a, lo)[0]
    if type(a) is not type(lo):
        raise Ambiguous("instants of different granularity")
    if name == "t_before":
        return a < lo
    if name == "t_after":
        return a > hi
    if name == "t_equals":
        return lo == hi == a
    inside = lo <= a <= hi
    return inside if name == "t_intersects" else not inside


def geometry_literal(g: BaseGeometry) -> dict[str, Any]:
    from shapely.geometry import mapping

    out = mapping(g)
    return {"type": out["type"], "coordinates": json.loads(json.dumps(out["coordinates"]))}
