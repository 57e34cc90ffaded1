"""A comparison with a number, restated in the values a column can hold.

The gateway compares Python numbers exactly (2**53 + 1 > 2.0**53). SQL does not: a database
compares a column with a literal in one type it picks (an integer column against 2.5 is cast
to double, a double column against 2**53 + 1 reads the literal as a double, rounded), and a
literal beyond bigint cannot be bound at all, which once sent such filters to be evaluated
row by row in Python. So before a number literal is bound, `restate` finds the comparison
with a value of the column's own domain that selects exactly the same values, or the
constant outcome for every non-null value:

- "integer" (int64, what PostgreSQL's int2/int4/int8 hold): `x > 2.5` is `x >= 3`,
  `x = 2.5` is false, `x < 1e23` is true, `x > 1e23` false;
- "double" (IEEE doubles with both infinities): `x < 2**53 + 1` is `x <= 2**53`,
  `x > 10**400` is `x >= inf`.
A constant outcome still depends on the value being null (the comparison is then unknown),
which the SQL compiler renders; see sqlfilter.
"""

from __future__ import annotations

import math
from typing import Literal

Domain = Literal["integer", "double"]
Restated = bool | tuple[str, int | float]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Between two neighbours of the domain: the comparison with the lower or the upper one.
_BELOW = {"<": "<=", "<=": "<="}
_ABOVE = {">": ">=", ">=": ">="}


def restate(op: str, value: int | float, domain: Domain) -> Restated:
    """`x op value` for every x of `domain` as `x op' value'` (value' in the domain) or as
    the constant outcome. `value` is a finite int or float (not bool); op one of = <> < <= > >=."""
    if domain == "integer" and not INT64_MIN <= value <= INT64_MAX:
        if value > INT64_MAX:  # every x is below
            return op in ("<", "<=", "<>")
        return op in (">", ">=", "<>")
    low, high = _neighbours(value, domain)
    if low == high:  # the value is one of the domain's
        return op, low
    if op in ("=", "<>"):
        return op == "<>"
    return (_BELOW[op], low) if op in _BELOW else (_ABOVE[op], high)


def _neighbours(value: int | float, domain: Domain) -> tuple[int | float, int | float]:
    """(greatest domain value <= value, least domain value >= value)."""
    if domain == "integer":
        return math.floor(value), math.ceil(value)
    if isinstance(value, float):
        return value, value
    try:
        near = float(value)
    except OverflowError:  # beyond the largest double: between it and infinity
        near = math.inf if value > 0 else -math.inf
    if near == value:
        return near, near
    below = near if near < value else math.nextafter(near, -math.inf)
    above = near if near > value else math.nextafter(near, math.inf)
    return below, above


__all__ = ["INT64_MAX", "INT64_MIN", "Domain", "restate"]
