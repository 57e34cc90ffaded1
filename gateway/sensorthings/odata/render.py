"""The option tree written back as OData text: for nextLinks and for upstream servers.

Only trees our parser produced (or rewrote) are rendered, so literals come out either
verbatim as the client wrote them (already checked by the lexer) or freshly quoted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.sensorthings.odata.ast import (
    LOGICAL,
    Binary,
    Call,
    In,
    Lambda,
    Literal,
    Node,
    Path,
    Unary,
)
from gateway.sensorthings.odata.expr import BINDING, NOT_BINDING
from gateway.sensorthings.odata.options import Expand, QueryOptions


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def literal(value: Any, kind: str) -> str:
    if kind == "string":
        return "'" + str(value).replace("'", "''") + "'"
    if kind == "null":
        return "null"
    if kind == "bool":
        return "true" if value else "false"
    if kind == "datetime":
        return _iso(value)
    if kind == "interval":
        return f"{_iso(value[0])}/{_iso(value[1])}"
    if kind == "geometry":
        return "geography'" + str(value).replace("'", "''") + "'"
    return str(value)


def _wrap(text: str, needed: bool) -> str:
    return f"({text})" if needed else text


def _binding(node: Node) -> int:
    if isinstance(node, Binary):
        return BINDING[node.op]
    if isinstance(node, In):
        return BINDING["in"]
    if isinstance(node, Unary) and node.op == "not":
        return NOT_BINDING
    return 100


def expr(node: Node) -> str:
    """The expression as text, with parentheses only where precedence needs them."""
    if isinstance(node, Literal):
        return node.text or literal(node.value, node.kind)
    if isinstance(node, Path):
        return "/".join(node.segments)
    if isinstance(node, Unary):
        operand = node.operand
        if node.op == "not":  # `not not x` needs no parentheses (nor another level)
            return "not " + _wrap(expr(operand), _binding(operand) < NOT_BINDING)
        # `-(-(1))` and `-(1)`: without them the lexer would read `--1` and `-1` differently
        merges = isinstance(operand, Unary) or (
            isinstance(operand, Literal) and operand.kind == "number"
        )
        return "-" + _wrap(expr(operand), _binding(operand) < 100 or merges)
    if isinstance(node, Binary):
        own = BINDING[node.op]
        left = _wrap(expr(node.left), _binding(node.left) < own)
        # `a or (b or c)` is `a or b or c`: the parser reads a run of and/or as one
        associative = node.op in LOGICAL and _binding(node.right) == own
        right = _wrap(expr(node.right), _binding(node.right) <= own and not associative)
        return f"{left} {node.op} {right}"
    if isinstance(node, In):
        operand = _wrap(expr(node.operand), _binding(node.operand) <= BINDING["in"])
        return f"{operand} in ({', '.join(expr(i) for i in node.items)})"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(expr(a) for a in node.args)})"
    if isinstance(node, Lambda):
        body = f"{node.var}: {expr(node.body)}" if node.body is not None else ""
        return f"{expr(node.path)}/{node.op}({body})"
    raise TypeError(f"cannot render {node!r}")


def _expand(item: Expand) -> str:
    inner = ";".join(f"{k}={v}" for k, v in options(item.options, nested=True).items())
    return f"{item.rel}({inner})" if inner else item.rel


def options(opts: QueryOptions, nested: bool = False, top: int | None = None) -> dict[str, str]:
    """name -> text, in FROST's order: `$top` and `$skip` first (clients such as
    Masterportal read them out of a nextLink with a regex that takes the first match);
    `top` replaces the options' own $top."""
    out: dict[str, str] = {}
    chosen = top if top is not None else opts.top
    if chosen is not None:
        out["$top"] = str(chosen)
    if opts.skip:
        out["$skip"] = str(opts.skip)
    if opts.select is not None:
        out["$select"] = ",".join("/".join(p) for p in opts.select)
    if opts.filter is not None:
        out["$filter"] = expr(opts.filter)
    if opts.expand:
        out["$expand"] = ",".join(_expand(e) for e in opts.expand)
    if opts.orderby:
        out["$orderby"] = ",".join(
            expr(o.expr) + (" desc" if o.descending else " asc") for o in opts.orderby
        )
    if opts.count:
        out["$count"] = "true"
    if not nested:
        if opts.result_format:
            out["$resultFormat"] = opts.result_format
        if opts.skiptoken:
            out["$skiptoken"] = opts.skiptoken
        if opts.skip_filter is not None:
            out["$skipFilter"] = expr(opts.skip_filter)
    return out
