"""Large federated pages as streams: the members' streams one after the other (unsorted), or
merged by the sort keys (a k-way merge of the members' sorted streams).

The list path (gateway/federation.py) says what a page is; this says the same while holding
only a few batches per member. Where they differ is in what can still be said once the first
byte went out:
- members that failed before the first byte are named in the `Warning` header; a member
  opened later (unsorted: when its turn comes) that fails to open is named in the body's
  `twinbridge:failedSources` only, and numberMatched is then left out;
- a member that fails mid-stream aborts the transfer (gateway/features/encoders.py), as a
  single source does: its features are partly out, and a short answer must not look whole.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gateway.catalog import CollectionSource
from gateway.errors import UpstreamFailed
from gateway.federation import FederatedCollection, decorate
from gateway.mapping import Feature
from gateway.query.model import PageStream, Query
from gateway.query.sorting import compare
from gateway.resilience import deadline_within

BATCH = 128


async def open_members(
    fed: FederatedCollection, calls: list[Awaitable[PageStream]]
) -> tuple[list[PageStream | None], list[dict[str, str]]]:
    """Open member streams concurrently; a failure is listed (or raised, when strict). No
    stream outlives a failure or a cancellation unclosed: each holds a source's slot."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
            task.add_done_callback(_close_opened)
        raise
    failed: list[dict[str, str]] = []
    try:
        for task in tasks:
            error = task.exception()
            if isinstance(error, UpstreamFailed):
                fed._record(error, failed)
            elif error is not None:
                raise error
    except BaseException:
        for task in tasks:
            _close_opened(task)
        raise
    return [None if task.exception() else task.result() for task in tasks], failed


def _close_opened(task: asyncio.Future[PageStream]) -> None:
    if not task.cancelled() and task.exception() is None:
        asyncio.ensure_future(task.result().aclose())


@dataclass
class Start:
    """Where an unsorted page starts, and what is known before its first byte."""

    counts: list[int | None]
    usable: list[bool]
    failed: list[dict[str, str]]
    index: int
    skip: int
    after: Any
    first: PageStream | None = None  # the first member's stream, opened before the answer

    def total(self) -> int | None:
        """numberMatched: the members' counts, when every usable member was counted and
        none failed."""
        exact = not self.failed and all(
            c is not None for c, ok in zip(self.counts, self.usable, strict=True) if ok
        )
        return sum(c or 0 for c in self.counts) if exact else None

    def wanted(self, index: int) -> bool:
        return self.usable[index] and self.counts[index] != 0


async def concatenated(fed: FederatedCollection, query: Query) -> PageStream:
    """Unsorted: find where the page starts as the list path does, and open the first
    member's stream, so that failing to start is still an ordinary error answer."""
    with deadline_within(fed.timeout):
        counted, failed = await fed._each([m.cheap_count(query) for m in fed.members])
        counts: list[int | None] = [None if isinstance(c, BaseException) else c for c in counted]
        usable = [not isinstance(c, BaseException) for c in counted]
        start = Start(counts, usable, failed, *(await fed._start(query, counts, usable, failed)))
        while start.index < len(fed.members) and start.first is None:
            if start.wanted(start.index):
                window = replace(query, offset=start.skip, resume=start.after)
                start.first = await fed._one(fed.members[start.index].stream(window), failed)
                if start.first is not None:
                    break
            start.index, start.skip, start.after = start.index + 1, 0, None
    return Concatenated(fed, query, start)


class Concatenated(PageStream):
    """The members in turn from where the page starts; each later member is opened when its
    turn comes, with the federation's deadline for its opening."""

    def __init__(self, fed: FederatedCollection, query: Query, start: Start) -> None:
        super().__init__(start.total(), start.failed or None)
        self.fed, self.query, self.start = fed, query, start
        self.returned = 0

    async def batches(self) -> AsyncIterator[list[Feature]]:
        s, members = self.start, self.fed.members
        more = False
        try:
            while s.index < len(members) and self.returned < self.query.limit:
                member = members[s.index]
                page, s.first = s.first or await self._open(member), None
                if page is not None:
                    taken = 0
                    try:
                        async for batch in page.batches():
                            taken += len(batch)
                            yield [decorate(member, f) for f in batch]
                    finally:
                        await page.aclose()
                    self.returned += taken
                    if page.has_next:
                        s.skip, s.after, more = s.skip + taken, page.resume, True
                        break
                s.index, s.skip, s.after = s.index + 1, 0, None
        finally:
            await self.aclose()
        self._finish(more)

    async def aclose(self) -> None:
        first, self.start.first = self.start.first, None
        if first is not None:
            await first.aclose()

    async def _open(self, member: CollectionSource) -> PageStream | None:
        s = self.start
        if not s.wanted(s.index):
            return None
        limit = self.query.limit - self.returned
        window = replace(self.query, limit=limit, offset=s.skip, resume=s.after)
        with deadline_within(self.fed.timeout):
            return await self.fed._one(member.stream(window), s.failed)

    def _finish(self, more: bool) -> None:
        s = self.start
        later = range(s.index + 1 if more else s.index, len(self.fed.members))
        more = more or any(s.wanted(j) for j in later)
        total = s.total()
        if total is not None:
            more = self.query.offset + self.returned < total
        self.number_matched, self.has_next = total, more
        self.failed_sources = s.failed or None
        # By the global offset when it says the same (counts known, no keyset position).
        resume = {"member": s.index, "offset": s.skip, "after": s.after}
        self.resume = resume if more and (s.after is not None or total is None) else None


@dataclass
class Member:
    """One member's place in a merge: its stream (None: it failed), the batch being read,
    and the position of its last feature taken (the cursor's until one is taken)."""

    source: CollectionSource
    page: PageStream | None
    state: tuple[int, Any]  # (offset, resume state) where it started
    batch: Sequence[Feature] = ()
    positions: Sequence[Any] | None = None
    at: int = 0
    taken: int = 0
    last: tuple[Sequence[Any] | None, int] | None = None

    def __post_init__(self) -> None:
        self._batches = None if self.page is None else self.page.batches()

    async def next(self) -> tuple[Feature, Sequence[Any] | None, int] | None:
        while self.at >= len(self.batch):
            batch = None if self._batches is None else await anext(self._batches, None)
            if batch is None:
                return None
            assert self.page is not None
            self.batch, self.positions, self.at = batch, self.page.positions, 0
        self.at += 1
        return self.batch[self.at - 1], self.positions, self.at - 1

    def resume(self) -> list[Any]:
        """Where this member continues: by offset, and by keyset where it pages so."""
        skip, after = self.state
        if self.last is None:
            return [skip, after]
        positions, index = self.last
        return [skip + self.taken, positions[index] if positions else None]

    async def aclose(self) -> None:
        if self.page is not None:
            await self.page.aclose()


async def merged(fed: FederatedCollection, query: Query) -> PageStream:
    """Sorted: every member's sorted stream, each from its own position (the cursor's), or
    from its start when a plain offset is asked (each then streams offset + limit)."""
    by_offset = query.resume is None and query.offset > 0
    if by_offset:
        states = [(0, None)] * len(fed.members)
        windows = [replace(query, offset=0, limit=query.offset + query.limit)] * len(states)
    else:
        states = fed._states(query.resume)
        windows = [replace(query, offset=skip, resume=after) for skip, after in states]
    with deadline_within(fed.timeout):
        pages, failed = await open_members(
            fed, [m.stream(w) for m, w in zip(fed.members, windows, strict=True)]
        )
    members = [
        Member(source, page, state)
        for source, page, state in zip(fed.members, pages, states, strict=True)
    ]
    return Merged(query, members, failed, by_offset)


class Merged(PageStream):
    """A k-way merge of the members' streams by the sort keys; ties keep member order."""

    def __init__(
        self, query: Query, members: list[Member], failed: list[dict[str, str]], by_offset: bool
    ) -> None:
        counts = [m.page.number_matched for m in members if m.page is not None]
        total = None if failed or None in counts else sum(c or 0 for c in counts)
        super().__init__(total, failed or None)
        self.query, self.members, self.by_offset = query, members, by_offset
        self.skip = query.offset if by_offset else 0

    async def batches(self) -> AsyncIterator[list[Feature]]:
        keys = self.query.sortby
        key = functools.cmp_to_key(lambda a, b: compare(a, b, keys))
        heads: list[tuple[Any, int, Feature, Sequence[Any] | None, int]] = []
        try:
            for j, member in enumerate(self.members):
                await _push(heads, key, j, member)
            out: list[Feature] = []
            taken, end = 0, self.skip + self.query.limit
            while heads and taken < end:
                _, j, feature, positions, index = heapq.heappop(heads)
                member = self.members[j]
                member.taken, member.last = member.taken + 1, (positions, index)
                taken += 1
                if taken > self.skip:
                    out.append(decorate(member.source, feature))
                    if len(out) >= BATCH:
                        yield out
                        out = []
                await _push(heads, key, j, member)  # one more: is there a next page?
            if out:
                yield out
        finally:
            await self.aclose()
        self.has_next = bool(heads) or any(m.page.has_next for m in self.members if m.page)
        if self.has_next and not self.by_offset:
            self.resume = {"members": [m.resume() for m in self.members]}

    async def aclose(self) -> None:
        for member in self.members:
            await member.aclose()


async def _push(heads: list[Any], key: Any, j: int, member: Member) -> None:
    """The member's next feature into the heap (nothing when it has no more)."""
    head = await member.next()
    if head is not None:
        feature, positions, index = head
        heapq.heappush(heads, (key(feature), j, feature, positions, index))


__all__ = ["concatenated", "merged", "open_members"]
