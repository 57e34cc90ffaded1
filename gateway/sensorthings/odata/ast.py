"""The expression tree of `$filter` and `$orderby`. Every node knows where it started in
the option's text (1-based), so errors can name the position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
ARITHMETIC = ("add", "sub", "mul", "div", "mod")
LOGICAL = ("and", "or")


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Literal(Node):
    """kind: string, number, bool, null, datetime, date, time, duration, geometry, interval.

    value: str | int | float | bool | None | datetime | date | time | timedelta | the WKT
    text (geometry) | (datetime, datetime) (interval)."""

    value: Any
    kind: str
    text: str = ""  # the literal as written (rendered back verbatim)


@dataclass(frozen=True)
class Path(Node):
    """`name`, `properties/a/b`, `Datastream/Thing/name`, a lambda variable `d/name`."""

    segments: tuple[str, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "not" or "-"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # a comparison, arithmetic or logical operator
    left: Node
    right: Node


@dataclass(frozen=True)
class In(Node):
    operand: Node
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Lambda(Node):
    """`Datastreams/any(d: d/ObservedProperty/name eq 'NO2')`."""

    path: Path
    op: str  # any | all
    var: str | None
    body: Node | None


def is_time(value: Any) -> bool:
    return isinstance(value, datetime | timedelta)
