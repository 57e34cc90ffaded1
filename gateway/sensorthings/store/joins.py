"""Joins through relations: the SQL that connects an entity to a related one, and the set
of relations one filter leaf reaches through (joined once each, wrapped in EXISTS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.sensorthings.model import Rel, target
from gateway.sensorthings.odata.ast import Binary, Node

if TYPE_CHECKING:
    from gateway.sensorthings.store.compile import Compiler


def chain(node: Node, op: str) -> list[Node]:
    """The operands of a run of the same logical operator, left to right."""
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Binary) and current.op == op:
            stack += [current.right, current.left]
        else:
            out.append(current)
    return out


def join_sql(rel: Rel, src: str, dst: str, link_alias: str) -> tuple[list[str], list[str]]:
    """FROM items and conditions that join `dst` (the relation's target) to `src`."""
    table = target(rel).table
    if rel.link is not None:
        link = rel.link
        return (
            [f"{link.table} {link_alias}", f"{table} {dst}"],
            [
                f"{link_alias}.{link.source_col} = {src}.id",
                f"{dst}.id = {link_alias}.{link.target_col}",
            ],
        )
    if rel.fk_here:
        return [f"{table} {dst}"], [f"{dst}.id = {src}.{rel.fk}"]
    return [f"{table} {dst}"], [f"{dst}.{rel.fk} = {src}.id"]


class Leaf:
    """The relations one leaf reaches through, joined once each."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler
        self.from_: list[str] = []
        self.conds: list[str] = []
        self.aliases: dict[tuple[str, tuple[str, ...]], str] = {}
        self.many = False

    def join(self, base: str, chain: tuple[Rel, ...]) -> str:
        prev = base
        for i, rel in enumerate(chain):
            key = (base, tuple(r.name for r in chain[: i + 1]))
            if key not in self.aliases:
                alias, link = self.compiler.alias(), self.compiler.alias()
                from_, conds = join_sql(rel, prev, alias, link)
                self.from_ += from_
                self.conds += conds
                self.aliases[key] = alias
                self.many = self.many or rel.many
            prev = self.aliases[key]
        return prev

    def exists(self, cond: str) -> str:
        if not self.from_:
            return cond
        where = " AND ".join([*self.conds, cond])
        return f"EXISTS (SELECT 1 FROM {', '.join(self.from_)} WHERE {where})"
