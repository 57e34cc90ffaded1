"""Rules that read several source fields: `collect` gathers columns into one list, and
the operations (`sum`, `min`, `max`, `difference`, `product`, `quotient`) compute a number.

Real sources spread one value over columns (the Ladesäulenregister's `Steckertypen1..4`,
`P1..P4 [kW]`) or store what the profile wants only as a difference (a 3D model's absolute
roof height and terrain elevation). Operations are a fixed set of named folds over numbers,
so a mapping stays declarative data: nothing from a config file is ever evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gateway.mapping.casts import to_integer, to_number
from gateway.mapping.read import Getter, Record, Step, absent, add_items, reader
from gateway.mapping.rules import AGGREGATES, MappingRule, Operand

Report = Callable[[str, str], None]  # (source field, problem): the data-quality counter


def collect_getter(sources: list[str], separator: str | None, steps: list[Step]) -> Getter:
    """The values of several columns as one list (each split at `separator` when given),
    steps run per item, nulls and repeats dropped. Every column empty gives null."""
    readers = [reader(source) for source in sources]

    def get(props: Record) -> Any:
        values = [value for read in readers if not absent(value := read(props))]
        if not values:
            return None
        out: list[Any] = []
        for value in values:
            add_items(value, separator, steps, out)
        return out

    return get


def _no_report(field: str, problem: str) -> None:
    """Without a counter (a test, a tool outside the gateway) problems go unrecorded."""


def operation_getter(rule: MappingRule, report: Report | None = None) -> Getter:
    """A number from several operands, then the rule's factor/offset and rounding."""
    assert rule.operation is not None
    key, operands = rule.operation
    say = report or _no_report
    read = [_operand(o, say) for o in operands]
    fold = _FOLDS[key]
    skip_nulls = key in AGGREGATES
    factor, offset = rule.factor or 1.0, rule.offset or 0.0
    rounding = to_integer if rule.type == "integer" else _round_unit

    def get(props: Record) -> Any:
        values = [r(props) for r in read]
        if skip_nulls:
            values = [v for v in values if v is not None]
            if not values:
                return None
        elif None in values:
            return None
        result = fold(values, say, operands)
        if result is None:
            return None
        result = result * factor + offset
        return rounding(result) if math.isfinite(result) else None

    return get


def _operand(operand: Operand, report: Report) -> Callable[[Record], float | None]:
    if not isinstance(operand, str):
        number = float(operand)
        return lambda props: number
    read = reader(operand)

    def get(props: Record) -> float | None:
        value = read(props)
        if absent(value):
            return None
        number = to_number(value)
        if number is None:
            report(operand, "not a number")
        return number

    return get


def _quotient(values: list[float], report: Report, operands: list[Operand]) -> float | None:
    if values[1] == 0:
        report(str(operands[1]), "division by zero")
        return None
    return values[0] / values[1]


_FOLDS: dict[str, Callable[[list[float], Report, list[Operand]], float | None]] = {
    "sum": lambda v, _r, _o: math.fsum(v),
    "min": lambda v, _r, _o: min(v),
    "max": lambda v, _r, _o: max(v),
    "difference": lambda v, _r, _o: v[0] - v[1],
    "product": lambda v, _r, _o: math.prod(v),
    "quotient": _quotient,
}


def _round_unit(value: float) -> float:
    """Differences of measured values leave float noise (12.299999999999955)."""
    return round(value, 6)
