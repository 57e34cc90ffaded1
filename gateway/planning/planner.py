"""The planner: split a Query into what the connector runs and what the gateway evaluates.

A connector is never asked for more than its capabilities say. The filter is rewritten from
profile names to source names through the inverse mapping (gateway/planning/inverse.py);
whatever cannot be pushed (the residual) is evaluated after mapping, streaming, so the
answer is the same either way. A sort that cannot be pushed makes the gateway read every
match and sort them itself: correct, and said so in the log, but slow on big sources. What
the gateway reads and evaluates is charged to the request's budget (gateway/query/budget.py),
so a query that would read a whole table ends with a 400 asking to narrow it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

from connectors.base import Capabilities, FeatureConnector, QueryResult, Record, SourceQuery
from gateway.errors import InvalidParameter
from gateway.mapping import Feature, Mapper, MappingRule
from gateway.planning import inverse
from gateway.query.budget import UNLIMITED, Budget, Meter
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
        if rule.default is not None:
            return None  # the source sorts nulls where the mapped values hold the default
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
    if source_sort and caps.sortables is not None:
        source_sort = source_sort if {n for n, _ in source_sort} <= caps.sortables else None
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
        fields=_projection(mapper, fields) if caps.projection else None,
    )
    return Plan(pushed, residual, sorted_by_source=bool(source_sort))


def _projection(mapper: Mapper, fields: dict[str, str]) -> tuple[str, ...] | None:
    """The source fields the mapping reads that the source has (a rule naming a missing
    field maps to null, as without projection)."""
    wanted = mapper.inputs()
    return None if wanted is None else tuple(f for f in wanted if f in fields)


async def run(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    temporal_property: str | None,
    fields: dict[str, str],
    budget: Budget = UNLIMITED,
) -> Page:
    """One page; what the source cannot run is evaluated here within `budget`."""
    caps = connector.capabilities()
    p = plan(caps, mapper, query, fields)
    if query.sortby and not p.sorted_by_source:
        log.info(
            "sorting %s in the gateway: the source cannot sort by %s", connector.name, query.sortby
        )
        return await _sort_all(connector, mapper, query, p, temporal_property, budget.meter())
    keyset = caps.keyset and caps.paging
    after = _after(query.resume, p.pushed) if keyset else None
    if not (p.exact and caps.paging):
        scan = _Scan(connector, mapper, p, temporal_property, budget.meter())
        return await scan.page(query, after, keyset)
    # Everything pushed down: one source page, one record more to learn if there is a next.
    result = await connector.query(
        replace(
            p.pushed,
            limit=query.limit + 1,
            offset=0 if after is not None else query.offset,
            after=after,
            want_count=caps.count,
        )
    )
    records = [r async for r in result.records]
    return _page(
        records[: query.limit], mapper, p, result.number_matched, len(records) > query.limit, keyset
    )


def pushed_stream(
    connector: FeatureConnector, mapper: Mapper, query: Query, fields: dict[str, str]
) -> Coroutine[Any, Any, Streamed] | None:
    """A page the source selects and orders entirely, as a stream (see `Streamed`): the
    coroutine opens it. None when part of the query is left to the gateway; such a page is
    made by `run` (a residual scan is bounded by the request's budget)."""
    caps = connector.capabilities()
    p = plan(caps, mapper, query, fields)
    if not (p.exact and caps.paging):
        return None
    keyset = caps.keyset and caps.paging
    after = _after(query.resume, p.pushed) if keyset else None
    pushed = replace(
        p.pushed,
        limit=query.limit + 1,
        offset=0 if after is not None else query.offset,
        after=after,
        want_count=caps.count,
    )
    return _open_stream(connector, mapper, pushed, query.limit, p.pushed if keyset else None)


async def _open_stream(
    connector: FeatureConnector,
    mapper: Mapper,
    pushed: SourceQuery,
    limit: int,
    keyset: SourceQuery | None,
) -> Streamed:
    return Streamed(await connector.query(pushed), mapper, limit, keyset)


class Streamed:
    """The source's records, mapped one by one: (record, feature) for `limit` of them, then
    one record more is read to learn whether there is a next page (`has_next`, final once
    the iteration ended). `positions(records)` gives the resume states of records."""

    def __init__(
        self, result: QueryResult, mapper: Mapper, limit: int, keyset: SourceQuery | None
    ) -> None:
        self.number_matched = result.number_matched
        self.has_next = False
        self._records = result.records
        self._take = mapper.take
        self._limit = limit
        self._keyset = keyset

    async def __aiter__(self) -> AsyncIterator[tuple[Record, Feature]]:
        records, take, left = self._records, self._take, self._limit
        try:
            async for record in records:
                if left == 0:
                    self.has_next = True
                    break
                left -= 1
                yield record, take(record)
        finally:
            aclose = getattr(records, "aclose", None)
            if aclose is not None:
                await aclose()

    def positions(self, records: list[Record]) -> Positions | None:
        return None if self._keyset is None else Positions(records, self._keyset)


def _page(
    records: list[Record],
    mapper: Mapper,
    p: Plan,
    number_matched: int | None,
    has_next: bool,
    keyset: bool,
) -> Page:
    positions = Positions(records, p.pushed) if keyset else None
    return Page(
        features=[mapper.take(r) for r in records],
        number_matched=number_matched,
        has_next=has_next,
        resume=positions[-1] if positions and has_next else None,
        positions=positions,
    )


class Positions(Sequence[dict[str, Any]]):
    """Each record's resume state, made when asked: a single collection wants the last one,
    a federation merge the one where it stopped taking from this source."""

    def __init__(self, records: list[Record], pushed: SourceQuery) -> None:
        self._records = records
        self._pushed = pushed

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [_resume(r, self._pushed) for r in self._records[index]]
        return _resume(self._records[index], self._pushed)


def _position(record: Record, pushed: SourceQuery) -> list[Any]:
    """A record's keyset position as `SourceQuery.after` takes it: its sort key values in
    source names, then its id."""
    properties = record["properties"]
    return [*(properties.get(name) for name, _ in pushed.sortby), record["id"]]


def _resume(record: Record, pushed: SourceQuery) -> dict[str, Any]:
    return {"after": _position(record, pushed)}


def _after(resume: Any, pushed: SourceQuery) -> tuple[Any, ...] | None:
    """The keyset position a cursor carries, checked against this plan's sort keys."""
    if resume is None:
        return None
    values = resume.get("after") if isinstance(resume, dict) else None
    scalar = (str, int, float, bool, type(None))
    if (
        not isinstance(values, list)
        or len(values) != len(pushed.sortby) + 1
        or not all(isinstance(v, scalar) for v in values)
    ):
        raise InvalidParameter("cursor", "no longer valid for this collection: start again")
    return tuple(values)


class _Scan:
    """The source's records read in order, mapped and tested here, each row charged."""

    def __init__(
        self,
        connector: FeatureConnector,
        mapper: Mapper,
        p: Plan,
        temporal_property: str | None,
        meter: Meter,
    ) -> None:
        self.connector, self.mapper, self.p, self.meter = connector, mapper, p, meter
        self.test = predicate(p.residual, temporal_property)

    async def matches(self, pushed: SourceQuery) -> Any:
        """(record, feature) for every match, in source order. The source is asked for one
        row more than the budget allows, so it never reads a whole table for nothing."""
        rows = self.meter.budget.rows
        if rows and pushed.limit is None and self.connector.capabilities().paging:
            pushed = replace(pushed, limit=rows + 1)
        result = await self.connector.query(pushed)
        take, test, charge = self.mapper.take, self.test, self.meter.charge
        clock = time.perf_counter
        try:
            async for record in result.records:
                started = clock()
                feature = take(record)
                selected = test(feature)
                charge(1, clock() - started)
                if selected:
                    yield record, feature
        finally:
            aclose = getattr(result.records, "aclose", None)
            if aclose is not None:
                await aclose()

    async def page(self, query: Query, after: tuple[Any, ...] | None, keyset: bool) -> Page:
        """Stream the matches in source order from the page's start (after the cursor's
        position, or by skipping `offset` matches) and keep `limit` + 1."""
        skip = 0 if after is not None else query.offset
        matched, kept, exhausted = 0, [], True
        stream = self.matches(replace(self.p.pushed, after=after))
        async for match in stream:
            matched += 1
            if matched > skip:
                kept.append(match)
                if len(kept) > query.limit:
                    exhausted = False
                    break
        await stream.aclose()
        kept = kept[: query.limit]
        positions = Positions([record for record, _ in kept], self.p.pushed) if keyset else None
        return Page(
            features=[feature for _, feature in kept],
            number_matched=matched if exhausted and after is None else None,
            has_next=not exhausted,
            resume=positions[-1] if positions and not exhausted else None,
            positions=positions,
        )


async def _sort_all(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    p: Plan,
    temporal_property: str | None,
    meter: Meter,
) -> Page:
    scan = _Scan(connector, mapper, p, temporal_property, meter)
    everything: list[Feature] = [feature async for _, feature in scan.matches(p.pushed)]
    ordered = meter.timed(lambda: sort_features(everything, query.sortby))
    end = query.offset + query.limit
    return Page(
        ordered[query.offset : end],
        number_matched=len(ordered),
        has_next=end < len(ordered),
    )


async def count(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    temporal_property: str | None,
    fields: dict[str, str],
    budget: Budget = UNLIMITED,
) -> int:
    """The exact number of matches; scans when the source cannot count what is asked."""
    caps = connector.capabilities()
    p = plan(caps, mapper, replace(query, sortby=()), fields)
    if caps.count and p.exact:
        result = await connector.query(replace(p.pushed, limit=0, want_count=True))
        if result.number_matched is not None:
            return result.number_matched
    total = 0
    async for _ in _Scan(connector, mapper, p, temporal_property, budget.meter()).matches(p.pushed):
        total += 1
    return total


async def cheap_count(
    connector: FeatureConnector, mapper: Mapper, query: Query, fields: dict[str, str]
) -> int | None:
    """The number of matches when the source says it is cheap (as it counts for
    numberMatched: one row and the count, if the connector finds counting cheap), else None."""
    caps = connector.capabilities()
    p = plan(caps, mapper, replace(query, sortby=()), fields)
    if not (caps.count and caps.paging and p.exact):
        return None
    result = await connector.query(replace(p.pushed, limit=1, want_count=True))
    async for _ in result.records:
        pass
    return result.number_matched
