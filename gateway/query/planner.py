"""The planner: split a Query into what the connector runs and what the gateway evaluates.

A connector is never asked for more than its capabilities say. Whatever is left (the
residual) is evaluated after mapping, streaming, so the answer is the same either way.
"""

from __future__ import annotations

from dataclasses import replace

from connectors.base import FeatureConnector, SourceQuery
from gateway.mapping import Mapper
from gateway.query.memory import matches
from gateway.query.model import Page, Query


async def run(
    connector: FeatureConnector, mapper: Mapper, query: Query, temporal_property: str | None
) -> Page:
    caps = connector.capabilities()
    residual = replace(query, bbox=None if caps.bbox else query.bbox)
    pushed_bbox = query.bbox if caps.bbox else None
    if residual.bbox is None and residual.datetime is None and caps.paging:
        # Everything pushed down: one source page, one record more to learn if there is a next.
        result = await connector.query(
            SourceQuery(
                limit=query.limit + 1,
                offset=query.offset,
                bbox=pushed_bbox,
                want_count=caps.count,
            )
        )
        features = [mapper(r) async for r in result.records]
        return Page(
            features=features[: query.limit],
            number_matched=result.number_matched,
            has_next=len(features) > query.limit,
        )
    return await _scan(connector, mapper, query, residual, pushed_bbox, temporal_property)


async def _scan(
    connector: FeatureConnector,
    mapper: Mapper,
    query: Query,
    residual: Query,
    pushed_bbox: tuple[float, float, float, float] | None,
    temporal_property: str | None,
) -> Page:
    """Stream the source, filter after mapping, skip `offset` matches, keep `limit` + 1."""
    result = await connector.query(SourceQuery(bbox=pushed_bbox))
    matched, features = 0, []
    exhausted = True
    async for record in result.records:
        feature = mapper(record)
        if not matches(feature, residual, temporal_property):
            continue
        matched += 1
        if matched > query.offset:
            features.append(feature)
            if len(features) > query.limit:
                exhausted = False
                break
    if not exhausted:
        await _close(result.records)
    return Page(
        features=features[: query.limit],
        number_matched=matched if exhausted else None,
        has_next=not exhausted,
    )


async def _close(records: object) -> None:
    aclose = getattr(records, "aclose", None)
    if aclose is not None:
        await aclose()


async def count(
    connector: FeatureConnector, mapper: Mapper, query: Query, temporal_property: str | None
) -> int:
    """The exact number of matches; scans when the source cannot count what is asked."""
    caps = connector.capabilities()
    if caps.count and (caps.bbox or query.bbox is None) and query.datetime is None:
        result = await connector.query(SourceQuery(limit=0, bbox=query.bbox, want_count=True))
        await _close(result.records)
        if result.number_matched is not None:
            return result.number_matched
    residual = replace(query, bbox=None if caps.bbox else query.bbox)
    result = await connector.query(SourceQuery(bbox=query.bbox if caps.bbox else None))
    total = 0
    async for record in result.records:
        total += matches(mapper(record), residual, temporal_property)
    return total
