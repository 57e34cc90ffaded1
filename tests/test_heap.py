"""The heap is frozen once the application has started, and its own lifespan still runs."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.testclient import TestClient

from gateway.heap import YOUNG_THRESHOLD, freeze_after_startup


def test_heap_is_frozen_after_the_apps_own_startup() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append(f"opened, frozen: {gc.get_freeze_count() > 0}")
        yield
        events.append("closed")

    app = Starlette(lifespan=lifespan)
    freeze_after_startup(app)
    gc.unfreeze()
    try:
        with TestClient(app):
            assert gc.get_freeze_count() > 0
        assert events == ["opened, frozen: False", "closed"]
    finally:
        gc.unfreeze()


def test_young_collections_wait_for_more_objects_after_startup() -> None:
    """Pages in flight would otherwise be caught by nearly every young collection."""
    app = Starlette()
    freeze_after_startup(app)
    before = gc.get_threshold()
    try:
        with TestClient(app):
            assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
