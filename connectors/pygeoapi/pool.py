"""The synchronous provider, called from the event loop through a bounded thread pool.

pygeoapi providers block (SQLAlchemy sessions, `requests`, file reads), so every call runs in
a worker thread of the source's own pool, never on the event loop. A call that does not
finish within `timeout` (queueing for a thread included) is answered with SourceTimeout at
once. Python cannot stop a running thread: it is left to finish in the background and keeps
its worker meanwhile; the pool never grows, so a provider that hangs for good costs that
source its `threads` workers and nothing else (its later calls queue and time out).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from connectors.errors import SourceTimeout
from connectors.pygeoapi.errors import translate

T = TypeVar("T")


class ProviderPool:
    def __init__(self, name: str, threads: int, timeout: float) -> None:
        self.name = name
        self.threads = threads
        self.timeout = timeout
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="pygeoapi")
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker thread within the timeout; provider exceptions
        come out translated (connectors/pygeoapi/errors.py)."""
        future = self._executor().submit(fn, *args, **kwargs)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            future.cancel()  # still queued: it never starts; running: it is left to finish
            raise SourceTimeout(
                f"{self.name}: the pygeoapi provider did not answer within {self.timeout:g} s"
            ) from None
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as e:  # noqa: BLE001 - every provider failure is translated
            raise translate(e, self.name) from e

    def close(self) -> None:
        """Drop queued calls; running ones finish in the background (never waited for)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


__all__ = ["ProviderPool"]
