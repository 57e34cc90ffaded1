"""Joins through relations: the SQL that connects an entity to a related one, and the set
of relations one filter leaf reaches through (joined once each, wrapped in EXISTS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.sensorthings.model import Rel, target

if TYPE_CHECKING:
    from gateway.sensorthings.store.compile import Compiler


def join_sql(rel: Rel, src: str, dst: str, link_alias: str) -> list[tuple[str, str]]:
    """(table and alias, join condition) pairs that join `dst` (the relation's target) to
    `src`."""
    table = target(rel).table
    if rel.link is not None:
        link = rel.link
        return [
            (f"{link.table} {link_alias}", f"{link_alias}.{link.source_col} = {src}.id"),
            (f"{table} {dst}", f"{dst}.id = {link_alias}.{link.target_col}"),
        ]
    if rel.fk_here:
        return [(f"{table} {dst}", f"{dst}.id = {src}.{rel.fk}")]
    return [(f"{table} {dst}", f"{dst}.{rel.fk} = {src}.id")]


class Leaf:
    """The relations one leaf reaches through, joined once each.

    Written as explicit `JOIN … ON` in the order walked: PostgreSQL plans a run of more
    than `join_collapse_limit` (8) explicit joins piecewise in that order instead of
    searching every order of one flat FROM list, which for a long path took seconds."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler
        self.joins: list[tuple[str, str]] = []
        self.aliases: dict[tuple[str, tuple[str, ...]], str] = {}
        self.many = False

    def join(self, base: str, chain: tuple[Rel, ...]) -> str:
        prev = base
        for i, rel in enumerate(chain):
            key = (base, tuple(r.name for r in chain[: i + 1]))
            if key not in self.aliases:
                alias, link = self.compiler.alias(), self.compiler.alias()
                self.joins += join_sql(rel, prev, alias, link)
                self.aliases[key] = alias
                self.many = self.many or rel.many
            prev = self.aliases[key]
        return prev

    def from_where(self, cond: str | None = None) -> str:
        """`FROM a JOIN b ON … WHERE …` of the joined relations (and `cond`)."""
        (first, first_on), *rest = self.joins
        joined = "".join(f" JOIN {item} ON {on}" for item, on in rest)
        where = first_on if cond is None else f"{first_on} AND {cond}"
        return f"FROM {first}{joined} WHERE {where}"

    def exists(self, cond: str) -> str:
        if not self.joins:
            return cond
        return f"EXISTS (SELECT 1 {self.from_where(cond)})"
