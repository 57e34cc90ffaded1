"""Large entity sets (`$top` above STREAM_ABOVE) read in chunks and written as they come.

The first chunk is read with the request's path (so a missing parent is still a 404 and a bad
filter a 400, before the first byte), with `@iot.count` when asked: known exactly before the
values go out. Each further chunk continues after the last row of the one before by keyset
(the sort keys end with the id), in a read transaction of its own, so no connection or
reader thread waits on a slow client, and memory holds one chunk (with its `$expand`s)
whatever `$top` is. A chunk is CHUNK entities where an index serves the order; an order no
index serves is sorted again for each chunk, so its chunks are SORTED_CHUNK large. Chunks
are not one snapshot: an entity written meanwhile may show up or not, as when a client
follows nextLinks. `@iot.nextLink` goes after `value`.

The dataArray result format (grouped by Datastream across the whole page) and `$top` up to
STREAM_ABOVE are read in one piece by `read`, and so is each expanded set within its entity
(bounded by `max_top` per parent; chunks hold fewer entities when they expand sets).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from gateway.sensorthings.model import EntityType, target
from gateway.sensorthings.odata.options import QueryOptions
from gateway.sensorthings.paths import ResourcePath
from gateway.sensorthings.store.order import encode_token
from gateway.sensorthings.store.plan import Plan
from gateway.sensorthings.store.read import (
    Page,
    ReadContext,
    Scope,
    entities,
    next_link,
    page,
    parent_check,
    read_collection,
    read_entity,
    resolve_target,
)

STREAM_ABOVE = 1000
CHUNK = 1000
# Chunks of an order no index serves: each chunk sorts the matches again, so fewer, larger
# ones (as large as a page may be by default).
SORTED_CHUNK = 10000
INDEXED = {("id",), ("@iot.id",), ("phenomenonTime",)}
Runner = Callable[[Plan[Any]], Awaitable[Any]]


@dataclass
class Chunk:
    page: Page
    values: list[dict[str, Any]]


class EntitySetStream:
    """An entity set in chunks: `count` (when asked), then `chunks()`, then `next_link`
    (final once the chunks are exhausted)."""

    def __init__(
        self,
        ctx: ReadContext,
        path: ResourcePath,
        scope: Scope,
        options: QueryOptions,
        first: Chunk,
        asked: QueryOptions,
    ) -> None:
        self.ctx, self.path, self.scope, self.options = ctx, path, scope, options
        self.asked = asked  # what the nextLink repeats ($ref, not the selection it means)
        self.count = first.page.count
        self.next_link: str | None = None
        self._first: Chunk | None = first
        self.run: Runner | None = None  # the store's read, set by `read_streamed`

    async def chunks(self) -> AsyncIterator[list[dict[str, Any]]]:
        assert self.run is not None
        left = self.ctx.top(self.options)
        chunk, self._first = self._first, None
        while chunk is not None:
            yield chunk.values
            left -= len(chunk.page.rows)
            keys = chunk.page.last_keys
            if keys is None:  # the set ended
                return
            if left <= 0:
                if self.ctx.next_links:
                    url = self.ctx.links.path(self.path)
                    passed = self.ctx.top(self.options)
                    self.next_link = next_link(self.ctx, url, self.asked, keys, passed)
                return
            chunk = await self.run(read_chunk(self.ctx, self.scope, self._after(keys), left))

    def tail(self) -> dict[str, Any]:
        """What follows the values: the nextLink, when there are more."""
        return {} if self.next_link is None else {"@iot.nextLink": self.next_link}

    def _after(self, keys: list[Any]) -> QueryOptions:
        return replace(self.options, skip=0, skiptoken=encode_token(keys), count=False)


def chunk_size(ctx: ReadContext, etype: EntityType, options: QueryOptions) -> int:
    """Entities of the set per chunk. Continuing after a keyset position is cheap where an
    index serves the order (the default orders, by id or phenomenonTime); other orders sort
    again for each chunk. Expanded to-many sets count with their most entities, so a chunk
    holds about as many entities whatever is expanded."""
    keys = [getattr(item.expr, "segments", None) for item in options.orderby]
    size = CHUNK if all(k in INDEXED for k in keys) else SORTED_CHUNK
    return max(1, size // weight(ctx, etype, options))


def weight(ctx: ReadContext, etype: EntityType, options: QueryOptions) -> int:
    """The most entities one entity brings along with its expands (itself included)."""
    total = 1
    for item in options.expand:
        rel = etype.rel[item.rel]
        below = weight(ctx, target(rel), item.options)
        total += ctx.top(item.options) * below if rel.many else below
    return total


def read_chunk(ctx: ReadContext, scope: Scope, options: QueryOptions, left: int) -> Plan[Chunk]:
    """Up to a chunk of rows (fewer when fewer are left), one more to learn whether there
    are more, and their expands."""
    size = chunk_size(ctx, scope.etype, options)
    chunked = replace(options, top=min(size, left))
    found = yield from page(ctx, scope, chunked)
    values = yield from entities(ctx, scope.etype, found.rows, chunked)
    return Chunk(found, values)


def read_large(ctx: ReadContext, path: ResourcePath, options: QueryOptions) -> Plan[Any]:
    """`read`, except that a large entity set comes as an EntitySetStream holding its first
    chunk."""
    found = yield from resolve_target(ctx.dialect, path, defer=True)
    scope = found.scope
    if scope is None:
        assert found.id is not None
        return (yield from read_entity(ctx, path, found.etype, found.id, options))
    if ctx.top(options) <= STREAM_ABOVE or (options.result_format == "dataArray" and not path.ref):
        return (yield from read_collection(ctx, path, found, options))
    asked = options
    if path.ref:
        options = replace(options, select=(("@iot.selfLink",),), expand=())
    first = yield from read_chunk(ctx, scope, options, ctx.top(options))
    yield from parent_check(found, not first.page.rows)
    return EntitySetStream(ctx, path, scope, options, first, asked)


async def read_streamed(
    run: Runner, ctx: ReadContext, path: ResourcePath, options: QueryOptions
) -> Any:
    """What `read` answers, a large entity set as a stream that reads on with `run`."""
    result = await run(read_large(ctx, path, options))
    if isinstance(result, EntitySetStream):
        result.run = run
    return result


__all__ = ["CHUNK", "STREAM_ABOVE", "EntitySetStream", "read_streamed"]
