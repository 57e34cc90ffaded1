"""Helpers of the NGSI -> SensorThings tests: ASGI apps (the NGSI test broker, the gateway)
served by uvicorn in a thread on a loopback port (the broker's own `serving`), so that the
gateway polls the broker and the broker notifies the gateway over real HTTP, and a wait for
what arrives in between."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from gateway.demo.ngsi_seed import load_seed
from gateway.demo.ngsibroker.serve import serving
from tests.conftest import free_port

T = TypeVar("T")
END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the seed's last hour in these tests


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """An app (the broker, or a gateway with its lifespan) on a loopback port."""
    with serving(app, port=port or free_port()) as url:
        yield url


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 15.0) -> T:
    """Call `probe` until `done(result)`; the last result when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def seed(v2_url: str | None, ld_url: str | None, hours: int, end: datetime = END) -> None:
    async def run() -> None:
        async with (
            httpx.AsyncClient(base_url=v2_url or "http://x") as v2,
            httpx.AsyncClient(base_url=ld_url or "http://x") as ld,
        ):
            await load_seed(
                v2 if v2_url else None, ld if ld_url else None, hours_back=hours, end=end
            )

    asyncio.run(run())


def count(url: str, path: str) -> int:
    doc = httpx.get(f"{url}{path}", params={"$count": "true", "$top": "0"}, timeout=10).json()
    return int(doc["@iot.count"])
