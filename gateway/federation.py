"""Federated collections: one profile, the union of every tenant's collection with it.

Paging is a global offset over the members in a fixed order (configuration order). Each
member's exact count for the query places the window, so `next` links walk every feature
exactly once for any page size. A member that fails is left out and named in the answer
(`partial: flag`), or fails the request (`partial: fail`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from connectors.base import CRS84
from gateway.catalog import CollectionSource, Extent
from gateway.errors import UpstreamFailed
from gateway.mapping import Feature
from gateway.query.model import Page, Query
from gateway.query.sorting import merge_sorted

SEPARATOR = "."


def federated_id(source: CollectionSource, local_id: Any) -> str:
    return f"{source.tenant}{SEPARATOR}{source.id}{SEPARATOR}{local_id}"


def decorate(source: CollectionSource, feature: Feature) -> Feature:
    """A member's feature as the federated view shows it: namespaced id, its tenant named."""
    return {
        "type": "Feature",
        "id": federated_id(source, feature["id"]),
        "geometry": feature["geometry"],
        "properties": {**feature["properties"], "tenant": source.tenant},
    }


class FederatedCollection:
    def __init__(self, profile_id: str, members: list[CollectionSource], mode: str) -> None:
        self.id = profile_id
        self.members = members
        self.mode = mode
        profile = members[0].profile
        assert profile is not None
        self.profile = profile
        self.title = profile.title
        self.description = profile.description
        self.temporal_property = profile.temporal_property

    async def _each(self, calls: list[Any]) -> tuple[list[Any], list[dict[str, str]]]:
        """Run member calls concurrently; failures become a list (or the error, when strict)."""
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        failed: list[dict[str, str]] = []
        for outcome in outcomes:
            if isinstance(outcome, UpstreamFailed):
                if self.mode == "fail":
                    raise outcome
                failed.append({"source": outcome.source, "error": outcome.description})
            elif isinstance(outcome, BaseException):
                raise outcome
        return list(outcomes), failed

    async def items(self, query: Query) -> Page:
        if query.sortby:
            return await self._sorted_items(query)
        counts, failed = await self._each([m.count(query) for m in self.members])
        windows: list[tuple[CollectionSource, Query]] = []
        skip, wanted = query.offset, query.limit
        for member, count in zip(self.members, counts, strict=True):
            if isinstance(count, BaseException) or wanted <= 0:
                continue
            if skip >= count:
                skip -= count
                continue
            take = min(wanted, count - skip)
            windows.append((member, replace(query, limit=take, offset=skip)))
            skip, wanted = 0, wanted - take
        pages, page_failed = await self._each([m.items(q) for m, q in windows])
        failed += page_failed
        features = [
            decorate(member, f)
            for (member, _), page in zip(windows, pages, strict=True)
            if isinstance(page, Page)
            for f in page.features
        ]
        total = sum(c for c in counts if not isinstance(c, BaseException))
        return Page(
            features=features,
            number_matched=None if failed else total,
            has_next=query.offset + query.limit < total,
            failed_sources=failed or None,
        )

    async def _sorted_items(self, query: Query) -> Page:
        """Each member sorts its first offset+limit matches; a k-way merge places them."""
        window = replace(query, offset=0, limit=query.offset + query.limit)
        pages, failed = await self._each([m.items(window) for m in self.members])
        runs = [
            [decorate(member, f) for f in page.features]
            for member, page in zip(self.members, pages, strict=True)
            if isinstance(page, Page)
        ]
        merged = merge_sorted(runs, query.sortby)
        end = query.offset + query.limit
        counts = [p.number_matched for p in pages if isinstance(p, Page)]
        total = None if failed or None in counts else sum(c for c in counts if c is not None)
        return Page(
            features=merged[query.offset : end],
            number_matched=total,
            has_next=len(merged) > end or any(p.has_next for p in pages if isinstance(p, Page)),
            failed_sources=failed or None,
        )

    def member_for(self, feature_id: str) -> tuple[CollectionSource, str] | None:
        parts = feature_id.split(SEPARATOR, 2)
        if len(parts) != 3:
            return None
        tenant, cid, local = parts
        for member in self.members:
            if member.tenant == tenant and member.id == cid:
                return member, local
        return None

    async def item(self, feature_id: str) -> Feature | None:
        found = self.member_for(feature_id)
        if found is None:
            return None
        member, local = found
        feature = await member.item(local)
        return None if feature is None else decorate(member, feature)

    def extent(self) -> Extent:
        extents = [m.extent() for m in self.members]
        boxes = [e.bbox for e in extents if e.bbox]
        bbox = (
            (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
            if boxes
            else None
        )
        spans = [e.temporal for e in extents if e.temporal]
        starts = [s[0] for s in spans if s[0] is not None]
        ends = [s[1] for s in spans if s[1] is not None]
        temporal = (min(starts) if starts else None, max(ends) if ends else None) if spans else None
        return Extent(bbox, temporal)

    @property
    def storage_crs(self) -> str:
        return CRS84

    def fields(self) -> dict[str, Any]:
        return self.profile.properties()

    def queryables(self) -> list[str]:
        return list(self.profile.queryables)

    def sortables(self) -> list[str]:
        return list(self.profile.sortables)

    @property
    def geometry_type(self) -> str | None:
        return self.profile.geometry_type
