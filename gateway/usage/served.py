"""How a handler tells the usage middleware how many features (or SensorThings entities) its
answer holds: the encoders' own counts, written into the request scope. A scope key, not
a header: nothing a client sends can set it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from starlette.types import Scope

SERVED_KEY = "twinbridge.usage.served"
T = TypeVar("T")


def served(scope: Scope, n: int) -> None:
    scope[SERVED_KEY] = scope.get(SERVED_KEY, 0) + n


def counting(scope: Scope, present: Callable[[list[T]], list[T]]) -> Callable[[list[T]], list[T]]:
    """`present` (a streamed batch's last step before encoding) that also counts the batch."""

    def counted(batch: list[T]) -> list[T]:
        out = present(batch)
        served(scope, len(out))
        return out

    return counted


async def counted_chunks(
    scope: Scope, chunks: AsyncIterator[list[Any]]
) -> AsyncIterator[list[Any]]:
    """The chunks of a streamed entity set, counted as they go out."""
    async for chunk in chunks:
        served(scope, len(chunk))
        yield chunk
