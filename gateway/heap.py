"""The garbage collector and the gateway's long-lived heap.

After start-up the heap holds ~100,000 container objects that live as long as the process:
modules, profiles and their JSON schemas, the catalog, compiled mappings, templates. CPython
3.11's full collections walk all of them, and a busy worker runs many: the features of
requests in flight survive the young collections, so the older generations fill quickly.
Measured on 100-feature pages from PostGIS (bench/features_postgis.py): 13 full collections
of ~50 ms each in 3,100 requests, ~210 µs per request, 16 % of the worker's CPU.
`gc.freeze()` once the application has started moves that heap out of the collector's sight
(it is still freed by reference counting); full collections then take ~5 ms.

The young generation's threshold is raised too (700 -> 10,000 net new container objects):
a collection examines what is alive at that moment, and a worker always has pages in
flight (a 100-feature page holds ~400 containers), so at 700 nearly every young
collection found a page alive and promoted it to be examined again in the older
generations. Garbage in reference cycles waits a little longer; the rest is freed by
reference counting as before.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette

YOUNG_THRESHOLD = 10_000  # CPython's default is 700


def freeze_after_startup(app: Starlette) -> None:
    """Freeze the heap once `app`'s lifespan has opened its sources (their pools, tables
    and descriptions are long-lived too). For server processes only: a process that builds
    many applications (the tests) would keep each one's reference cycles for good."""
    opening = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with opening(app) as state:
            gc.collect()  # leave out what is garbage already
            gc.freeze()
            _, older, oldest = gc.get_threshold()
            gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
            yield state

    app.router.lifespan_context = lifespan
