"""The connection to Redis and whether it is usable right now.

Every user asks `client()` first: None means "do it in process", so while Redis is down no
request waits on it. The first failed command (refused, timed out, reset) marks Redis
unavailable, logs one warning and leaves the rest to a background loop, which tries `PING`
with a pause doubling from 0.25 s up to `reconnect_max`, and logs once when Redis is back.
The same loop, while Redis is up, runs the periodic jobs (the shared circuit breakers'
refresh), so a worker makes a fixed number of background round trips whatever its load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway import metrics
from gateway.shared.settings import SharedStateSettings

log = logging.getLogger("twinbridge.shared")
# What a Redis outage looks like from here: refused/reset connections, timeouts, errors.
REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
FIRST_PAUSE = 0.25

Job = Callable[[aioredis.Redis], Awaitable[None]]


class SharedState:
    def __init__(self, settings: SharedStateSettings) -> None:
        self.settings = settings
        self.prefix = settings.key_prefix
        self._redis: aioredis.Redis | None = None
        self._available = False
        self._since = time.time()
        self._error: str | None = "not connected yet"
        self._jobs: list[Job] = []
        self._loop: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.settings.redis_url is not None

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def client(self) -> aioredis.Redis | None:
        """Redis when it is usable now, else None (then: in process)."""
        return self._redis if self._available else None

    def every_sync(self, job: Job) -> None:
        """Run `job` every `breaker_sync` seconds while Redis is up."""
        self._jobs.append(job)

    async def start(self) -> None:
        if not self.enabled or self._loop is not None:
            return
        assert self.settings.redis_url is not None
        timeout = self.settings.socket_timeout
        self._redis = aioredis.Redis.from_url(
            self.settings.redis_url.get_secret_value(),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # a failure falls back at once; the loop retries
            health_check_interval=5,
        )
        self._wake = asyncio.Event()
        await self._probe()
        if not self._available:
            self._warn_down()
        self._loop = asyncio.create_task(self._run(), name="shared-state")

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        for task in [*([loop] if loop else []), *self._tasks]:
            task.cancel()
        for task in [*([loop] if loop else []), *self._tasks]:
            with contextlib.suppress(BaseException):
                await task
        if self._redis is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self._redis.aclose()
            self._redis = None
        self._available = False

    def failed(self, error: BaseException) -> None:
        """A command failed: fall back to in-process state until Redis answers again."""
        if not self._available:
            return
        self._available = False
        self._since = time.time()
        self._error = type(error).__name__
        metrics.SHARED_STATE_UP.labels("redis").set(0)
        log.warning(
            "shared state: Redis unavailable (%s: %s); workers use their own state until it "
            "is back",
            type(error).__name__,
            error,
        )
        self._wake.set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a Redis write in the background (the request does not wait for it)."""
        task = asyncio.ensure_future(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except REDIS_ERRORS as e:
            self.failed(e)

    def status(self) -> dict[str, Any] | None:
        """What /ready says about shared state (None: not configured)."""
        if not self.enabled:
            return None
        doc: dict[str, Any] = {
            "backend": "redis",
            "status": "ok" if self._available else "unavailable",
        }
        if not self._available:
            doc["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._since))
            doc["error"] = self._error
            doc["fallback"] = "in-process state per worker"
        return doc

    @property
    def available(self) -> bool:
        return self._available

    async def _probe(self) -> None:
        assert self._redis is not None
        try:
            await self._redis.ping()
        except REDIS_ERRORS as e:
            self._error = type(e).__name__
            metrics.SHARED_STATE_UP.labels("redis").set(0)
            return
        self._available, self._error, self._since = True, None, time.time()
        metrics.SHARED_STATE_UP.labels("redis").set(1)

    def _warn_down(self) -> None:
        log.warning(
            "shared state: Redis not reachable (%s); workers use their own state until it is",
            self._error,
        )

    async def _run(self) -> None:
        pause = FIRST_PAUSE
        while True:
            if self._available:
                pause = FIRST_PAUSE
                await self._sync()
                wait = self.settings.breaker_sync
            else:
                await self._probe()
                if self._available:
                    log.warning("shared state: Redis is back; state is shared again")
                    continue
                wait, pause = pause, min(pause * 2, self.settings.reconnect_max)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _sync(self) -> None:
        redis = self.client()
        for job in self._jobs:
            if redis is None:
                return
            try:
                await job(redis)
            except REDIS_ERRORS as e:
                self.failed(e)
                return
            except Exception:  # a bug in a job must not end the loop
                log.exception("shared state: periodic job failed")
