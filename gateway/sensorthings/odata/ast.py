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


def operands(node: Node, op: str) -> list[Node]:
    """The operands of a run of the same logical operator, left to right (iteratively)."""
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Binary) and current.op == op:
            stack += [current.right, current.left]
        else:
            out.append(current)
    return out


def balanced(pos: int, op: str, items: list[Node]) -> Node:
    """`a or b or c …` as a balanced tree: and/or are associative, and a tree as deep as
    the logarithm of its length keeps every recursive walk over it shallow."""
    level = [item for node in items for item in operands(node, op)]
    while len(level) > 1:
        paired: list[Node] = [
            Binary(pos, op, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, In):
        return (node.operand, *node.items)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Lambda):
        return (node.path,) if node.body is None else (node.path, node.body)
    return ()


def deepest(node: Node, limit: int) -> Node | None:
    """The first node found deeper than `limit` levels, or None. A path counts one level per
    segment (each one a join or a step into JSON); walked without recursion."""
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, Path):
            level += len(current.segments) - 1
        if level > limit:
            return current
        stack += [(child, level + 1) for child in children(current)]
    return None


def is_time(value: Any) -> bool:
    return isinstance(value, datetime | timedelta)
