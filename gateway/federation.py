"""Federated collections: one profile, the union of every tenant's collection with it.

Unsorted, the members follow each other in configuration order; a plain offset is placed
over the members' exact counts, so `next` links walk every feature exactly once for any
page size. Sorted, the members' sorted pages are merged. Next links carry a cursor with
each member's position (its offset, and its keyset position where it pages by keyset), so
a member continues where it stopped instead of skipping everything before. A member that
fails is left out and named in the answer (`partial: flag`), or fails the request
(`partial: fail`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from connectors.base import CRS84
from gateway.catalog import CollectionSource, Extent
from gateway.config import FederationSettings
from gateway.errors import InvalidParameter, UpstreamFailed
from gateway.mapping import Feature
from gateway.query.model import Page, PageStream, Query
from gateway.query.sorting import merge_sorted
from gateway.resilience import deadline_within

SEPARATOR = "."


def federated_id(source: CollectionSource, local_id: Any) -> str:
    return f"{source.tenant}{SEPARATOR}{source.id}{SEPARATOR}{local_id}"


def _stale() -> InvalidParameter:
    return InvalidParameter("cursor", "no longer valid for this collection: start again")


def _advance(state: tuple[int, Any], page: Any, consumed: int) -> list[Any]:
    """A member's position after `consumed` of its page's features went out: by offset,
    and by keyset where the member pages so. A failed member stays where it was."""
    skip, after = state
    if not isinstance(page, Page) or consumed == 0:
        return [skip, after]
    positions = page.positions
    return [skip + consumed, positions[consumed - 1] if positions else None]


def decorate(source: CollectionSource, feature: Feature) -> Feature:
    """A member's feature as the federated view shows it: namespaced id, its tenant named."""
    return {
        "type": "Feature",
        "id": federated_id(source, feature["id"]),
        "geometry": feature["geometry"],
        "properties": {**feature["properties"], "tenant": source.tenant},
    }


class FederatedCollection:
    def __init__(
        self, profile_id: str, members: list[CollectionSource], settings: FederationSettings
    ) -> None:
        self.id = profile_id
        self.members = members
        self.mode = settings.partial
        self.timeout = settings.timeout
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
                self._record(outcome, failed)
            elif isinstance(outcome, BaseException):
                raise outcome
        return list(outcomes), failed

    def _record(self, error: UpstreamFailed, failed: list[dict[str, str]]) -> None:
        """A member failed: listed for a partial answer, or raised when partial is 'fail'."""
        if self.mode == "fail":
            raise error
        failed.append({"source": error.source, "error": error.description})

    async def _one(self, call: Any, failed: list[dict[str, str]]) -> Any:
        """One member call; a failure is listed (or raised, when strict) and gives None."""
        try:
            return await call
        except UpstreamFailed as e:
            self._record(e, failed)
            return None

    async def items(self, query: Query) -> Page:
        """The members share the federation's deadline: one that has not answered by then
        is left out and named, like one that failed."""
        with deadline_within(self.timeout):
            if query.sortby:
                return await self._sorted_items(query)
            return await self._concatenated(query)

    async def stream(self, query: Query) -> PageStream:
        """A large page as a stream (gateway/federated_stream.py): unsorted, the members'
        streams one after the other; sorted, a k-way merge of them."""
        from gateway import federated_stream

        if query.sortby:
            return await federated_stream.merged(self, query)
        return await federated_stream.concatenated(self, query)

    async def _concatenated(self, query: Query) -> Page:
        """Unsorted: the members one after the other. A page usually asks one member; the
        members' counts are only asked where they are cheap (numberMatched), and exactly
        only to place a plain offset."""
        counted, failed = await self._each([m.cheap_count(query) for m in self.members])
        counts: list[int | None] = [None if isinstance(c, BaseException) else c for c in counted]
        usable = [not isinstance(c, BaseException) for c in counted]
        index, skip, after = await self._start(query, counts, usable, failed)
        features: list[Feature] = []
        wanted, more = query.limit, False
        while index < len(self.members) and wanted > 0:
            member = self.members[index]
            if usable[index] and counts[index] != 0:
                window = replace(query, limit=wanted, offset=skip, resume=after)
                page = await self._one(member.items(window), failed)
                if page is not None:
                    features += [decorate(member, f) for f in page.features]
                    wanted -= len(page.features)
                    if page.has_next:
                        skip, after, more = skip + len(page.features), page.resume, True
                        break
            index, skip, after = index + 1, 0, None
        later = range(index + 1 if more else index, len(self.members))
        more = more or any(usable[j] and counts[j] != 0 for j in later)
        exact = not failed and all(
            c is not None for c, ok in zip(counts, usable, strict=True) if ok
        )
        total = sum(c or 0 for c in counts) if exact else None
        if total is not None:
            more = query.offset + len(features) < total
        # By the global offset when it says the same (counts known, no keyset position).
        resume = {"member": index, "offset": skip, "after": after}
        needs_cursor = after is not None or total is None
        return Page(
            features=features,
            number_matched=total,
            has_next=more,
            failed_sources=failed or None,
            resume=resume if more and needs_cursor else None,
        )

    async def _start(
        self,
        query: Query,
        counts: list[int | None],
        usable: list[bool],
        failed: list[dict[str, str]],
    ) -> tuple[int, int, Any]:
        """(member, its offset, its resume state) where the page starts: from the cursor,
        else the global offset placed over the members' counts (counted exactly here where
        no cheap count was had)."""
        if query.resume is not None:
            state = query.resume
            try:
                member, skip, after = state["member"], state["offset"], state["after"]
            except (TypeError, KeyError):
                raise _stale() from None
            if not (isinstance(member, int) and isinstance(skip, int) and skip >= 0):
                raise _stale()
            return member, skip, after
        skip = query.offset
        for index, member in enumerate(self.members):
            if not usable[index]:
                continue
            if skip == 0:
                return index, 0, None
            count = counts[index]
            if count is None:
                count = await self._one(member.count(query), failed)
                if count is None:
                    usable[index] = False
                    continue
                counts[index] = count
            if skip < count:
                return index, skip, None
            skip -= count
        return len(self.members), 0, None

    async def _sorted_items(self, query: Query) -> Page:
        """A k-way merge of the members' sorted pages. Each member continues from its own
        position (from the cursor), so a deep page costs what the first one costs; a plain
        offset makes each member sort its first offset+limit matches instead."""
        if query.resume is None and query.offset > 0:
            return await self._sorted_by_offset(query)
        states = self._states(query.resume)
        calls = [
            m.items(replace(query, offset=skip, resume=after))
            for m, (skip, after) in zip(self.members, states, strict=True)
        ]
        pages, failed = await self._each(calls)
        member_of: dict[int, int] = {}
        runs = []
        for index, page in enumerate(pages):
            if isinstance(page, Page):
                run = [decorate(self.members[index], f) for f in page.features]
                member_of.update((id(f), index) for f in run)
                runs.append(run)
        merged = merge_sorted(runs, query.sortby)
        taken = merged[: query.limit]
        consumed = [0] * len(self.members)
        for feature in taken:
            consumed[member_of[id(feature)]] += 1
        resume = {
            "members": [_advance(s, p, n) for s, p, n in zip(states, pages, consumed, strict=True)]
        }
        counts = [p.number_matched for p in pages if isinstance(p, Page)]
        total = None if failed or None in counts else sum(c for c in counts if c is not None)
        has_next = len(merged) > query.limit or any(
            p.has_next for p in pages if isinstance(p, Page)
        )
        return Page(
            features=taken,
            number_matched=total,
            has_next=has_next,
            failed_sources=failed or None,
            resume=resume if has_next else None,
        )

    def _states(self, resume: Any) -> list[tuple[int, Any]]:
        """Each member's (offset, resume state): from the cursor, or the start."""
        if resume is None:
            return [(0, None)] * len(self.members)
        states = resume.get("members") if isinstance(resume, dict) else None
        if not isinstance(states, list) or len(states) != len(self.members):
            raise _stale()
        out = []
        for state in states:
            if not (isinstance(state, list) and len(state) == 2 and isinstance(state[0], int)):
                raise _stale()
            out.append((state[0], state[1]))
        return out

    async def _sorted_by_offset(self, query: Query) -> Page:
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
        with deadline_within(self.timeout):
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
