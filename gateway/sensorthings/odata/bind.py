"""Binding the option tree to the entity model: every path must name a property or relation
of the entity type it starts from. Used by the SQL compiler and, before anything goes
upstream, by the proxy, so that both paths reject the same requests with the same 400."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import InvalidParameter
from gateway.sensorthings.model import EntityType, Prop, Rel, target
from gateway.sensorthings.odata.ast import Lambda, Node, Path, children
from gateway.sensorthings.odata.limits import CEILINGS, Limits
from gateway.sensorthings.odata.options import QueryOptions

ID_NAMES = ("id", "@iot.id")
JSON_KINDS = ("json", "geo")


@dataclass(frozen=True)
class Resolved:
    start: EntityType
    chain: tuple[Rel, ...]  # relations walked from the start type
    prop: Prop | None  # None for the id or a bare relation path
    json_path: tuple[str, ...] = ()
    is_id: bool = False

    @property
    def type(self) -> EntityType:
        return target(self.chain[-1]) if self.chain else self.start


def resolve(etype: EntityType, segments: tuple[str, ...], option: str) -> Resolved:
    chain: list[Rel] = []
    current = etype
    for i, name in enumerate(segments):
        rel = current.rel.get(name)
        if rel is not None:
            chain.append(rel)
            current = target(rel)
            continue
        rest = segments[i + 1 :]
        if name in ID_NAMES:
            if rest:
                raise InvalidParameter(option, f"nothing below '{name}'")
            return Resolved(etype, tuple(chain), None, is_id=True)
        prop = current.prop.get(name)
        if prop is None:
            raise InvalidParameter(option, f"{current.name} has no property '{name}'")
        if rest and prop.kind not in JSON_KINDS:
            raise InvalidParameter(option, f"'{name}' has no members ('{'/'.join(rest)}')")
        return Resolved(etype, tuple(chain), prop, tuple(rest))
    return Resolved(etype, tuple(chain), None)


def _check_node(etype: EntityType, node: Node, option: str, scope: dict[str, EntityType]) -> int:
    """Check one node; returns the relations its paths walk (each one a join in SQL)."""
    if isinstance(node, Path):
        first = node.segments[0]
        if first in scope:
            if len(node.segments) == 1:
                return 0
            return len(resolve(scope[first], node.segments[1:], option).chain)
        resolved = resolve(etype, node.segments, option)
        if resolved.prop is None and not resolved.is_id:
            raise InvalidParameter(
                option, f"'{'/'.join(node.segments)}' is a relation, not a value"
            )
        return len(resolved.chain)
    if isinstance(node, Lambda):
        return _check_lambda(etype, node, option, scope)
    return sum(_check_node(etype, child, option, scope) for child in children(node))


def _check_lambda(
    etype: EntityType, node: Lambda, option: str, scope: dict[str, EntityType]
) -> int:
    first = node.path.segments[0]
    base, segments = (
        (scope[first], node.path.segments[1:]) if first in scope else (etype, node.path.segments)
    )
    resolved = resolve(base, segments, option)
    if resolved.prop is not None or resolved.is_id or not resolved.chain:
        raise InvalidParameter(option, f"{node.op}() needs a path to related entities")
    joins = len(resolved.chain)
    if node.body is not None and node.var is not None:
        joins += _check_node(etype, node.body, option, {**scope, node.var: resolved.type})
    return joins


def check_expr(etype: EntityType, node: Node, option: str) -> int:
    """Raise InvalidParameter when the expression names anything the type does not have;
    returns how many relations it walks."""
    return _check_node(etype, node, option, {})


def check(etype: EntityType, options: QueryOptions, limits: Limits = CEILINGS) -> None:
    """Raise InvalidParameter when the options name anything the type does not have, or
    when the expressions of one level (one SQL statement) walk more relations than
    `limits.joins`: each is a join, and planning cost grows faster than their number."""
    joins = 0
    if options.filter is not None:
        joins += check_expr(etype, options.filter, "$filter")
    if options.skip_filter is not None:
        joins += check_expr(etype, options.skip_filter, "$skipFilter")
    for item in options.orderby:
        joins += check_expr(etype, item.expr, "$orderby")
    if joins > limits.joins:
        raise InvalidParameter("$filter", limits.joins_message(joins))
    for path in options.select or ():
        if path[0] in etype.rel and len(path) == 1:
            continue
        resolved = resolve(etype, path, "$select")
        if resolved.chain:
            raise InvalidParameter("$select", f"'{'/'.join(path)}' leaves the entity; use $expand")
    for item in options.expand:
        rel = etype.rel.get(item.rel)
        if rel is None:
            raise InvalidParameter("$expand", f"{etype.name} has no relation '{item.rel}'")
        check(target(rel), item.options, limits)
