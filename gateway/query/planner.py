"""The planner: split a Query into what the connector runs and what the gateway evaluates.

A connector is never asked for more than its capabilities say. The filter is rewritten from
profile names to source names through the inverse mapping (gateway/query/inverse.py);
whatever cannot be pushed (the residual) is evaluated after mapping, streaming, so the
answer is the same either way. A sort that cannot be pushed makes the gateway read every
match and sort them itself: correct, and said so in the log, but slow on big sources.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from connectors.base import Capabilities, FeatureConnector, SourceQuery
from gateway.config import MappingRule
from gateway.mapping import Feature, Mapper
from gateway.query import inverse
from gateway.query.memory import predicate
from gateway.query.model import Page, Query
from gateway.query.sorting import sort_features

log = logging.getLogger("twinbridge.planner")


@dataclass(frozen=True)
class Plan:
    pushed: SourceQuery  # without paging
    residual: Query  # filters left for the gateway (limit/offset unused)
    sorted_by_source: bool

    @property
    def exact(self) -> bool:
        """Does the source alone select (and order) exactly the matches?"""
        r = self.residual
        return (
            r.bbox is None
            and r.datetime is None
            and r.filter is None
            and (self.sorted_by_source or not r.sortby)
        )


def _rules(mapper: Mapper, fields: dict[str, str]) -> dict[str, MappingRule]:
    if mapper.identity:
        return {name: MappingRule(**{"from": name}) for name in fields}
    return mapper.sources


def _sort_fields(
    rules: dict[str, MappingRule], query: Query, fields: dict[str, str]
) -> tuple[tuple[str, bool], ...] | None:
    """The sort keys in source names, when every key is a plain rename of a field whose
    values sort the same before and after mapping (no code list, unit or type change)."""
    keys = []
    for name, ascending in query.sortby:
        rule = rules.get(name)
        if rule is None or rule.from_ is None or rule.codes or rule.factor or rule.offset:
            return None
        source_type = fields.get(rule.from_)
        if source_type not in ("string", "integer", "number"):
            return None
        if rule.type not in (None, source_type) and {rule.type, source_type} != {
            "integer",
            "number",
        }:
            return None
        if rule.type == "integer" and source_type == "number":
            return None  # rounding would create ties the source does not have
        keys.append((rule.from_, ascending))
    return tuple(keys)


def plan(caps: Capabilities, mapper: Mapper, query: Query, fields: dict[str, str]) -> Plan:
    """`fields`: the source's field names and types (from describe())."""
    rules = _rules(mapper, fields)
    pushed_filter, residual_filter = (
        inverse.split(
            query.filter,
            None if mapper.identity else rules,
            caps.filter_test or caps.filter_ops,
            source_types=fields,
        )
        if query.filter is not None
        else (None, None)
    )
    source_sort = _sort_fields(rules, query, fields) if caps.sort and query.sortby else None
    residual = replace(
        query,
        bbox=None if caps.bbox else query.bbox,
        filter=residual_filter,
    )
    # A residual filter changes which rows are kept, not their order: the source may still sort.
    pushed = SourceQuery(
        bbox=query.bbox if caps.bbox else None,
        filter=pushed_filter,
        sortby=source_sort or (),
    )
    return Plan(pushed, residual, sorted_by_source=bool(source_sort))


async def run(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    temporal_property: str | None,
    fields: dict[str, str],
) -> Page:
    caps = connector.capabilities()
    p = plan(caps, mapper, query, fields)
    if p.exact and caps.paging:
        # Everything pushed down: one source page, one record more to learn if there is a next.
        result = await connector.query(
            replace(p.pushed, limit=query.limit + 1, offset=query.offset, want_count=caps.count)
        )
        features = [mapper(r) async for r in result.records]
        return Page(
            features=features[: query.limit],
            number_matched=result.number_matched,
            has_next=len(features) > query.limit,
        )
    if query.sortby and not p.sorted_by_source:
        log.info(
            "sorting %s in the gateway: the source cannot sort by %s", connector.name, query.sortby
        )
        return await _sort_all(connector, mapper, query, p, temporal_property)
    return await _scan(connector, mapper, query, p, temporal_property)


async def _matches(
    connector: FeatureConnector, mapper: Mapper, p: Plan, temporal_property: str | None
) -> Any:
    result = await connector.query(p.pushed)
    test = predicate(p.residual, temporal_property)
    try:
        async for record in result.records:
            feature = mapper(record)
            if test(feature):
                yield feature
    finally:
        aclose = getattr(result.records, "aclose", None)
        if aclose is not None:
            await aclose()


async def _scan(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    p: Plan,
    temporal_property: str | None,
) -> Page:
    """Stream the matches in source order, skip `offset`, keep `limit` + 1."""
    matched, features, exhausted = 0, [], True
    stream = _matches(connector, mapper, p, temporal_property)
    async for feature in stream:
        matched += 1
        if matched > query.offset:
            features.append(feature)
            if len(features) > query.limit:
                exhausted = False
                break
    await stream.aclose()
    return Page(
        features=features[: query.limit],
        number_matched=matched if exhausted else None,
        has_next=not exhausted,
    )


async def _sort_all(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    p: Plan,
    temporal_property: str | None,
) -> Page:
    everything: list[Feature] = [f async for f in _matches(connector, mapper, p, temporal_property)]
    ordered = sort_features(everything, query.sortby)
    end = query.offset + query.limit
    return Page(
        ordered[query.offset : end], number_matched=len(ordered), has_next=end < len(ordered)
    )


async def count(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    temporal_property: str | None,
    fields: dict[str, str],
) -> int:
    """The exact number of matches; scans when the source cannot count what is asked."""
    caps = connector.capabilities()
    p = plan(caps, mapper, replace(query, sortby=()), fields)
    if caps.count and p.exact:
        result = await connector.query(replace(p.pushed, limit=0, want_count=True))
        if result.number_matched is not None:
            return result.number_matched
    total = 0
    async for _ in _matches(connector, mapper, p, temporal_property):
        total += 1
    return total
