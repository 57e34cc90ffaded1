"""Single flight of upstream metadata across workers and instances.

In process, connectors/remote/metacache.py already makes one call per key for a burst of
misses. With Redis, a worker that misses first looks for the value another worker stored
(`meta:<scope>:<key>`, TTL the cache's `ttl`); else it takes the lock (`SET NX PX`, with a
token so that only its holder deletes it), asks the upstream and stores the result. The
others poll every 50 ms for at most `flight_wait` seconds and take the stored value; when
the holder fails (its lock goes without a value) or time is up, they ask the upstream
themselves. Values travel as JSON through pydantic's TypeAdapter of the dataclass the call
site names, never pickled: a value that does not validate is simply loaded again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from gateway.shared.state import REDIS_ERRORS, SharedState

T = TypeVar("T")
POLL = 0.05
MAX_VALUE_BYTES = 4 * 1024 * 1024
log = logging.getLogger("twinbridge.shared")
# Delete the lock only while it is still ours (it may have expired and been taken since).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@lru_cache(maxsize=64)
def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def scope_of(name: str, config_json: str) -> str:
    """A source's scope: its name and a digest of its connector's configuration, so that
    instances running different configurations never take each other's metadata."""
    return f"{name}:{hashlib.sha256(config_json.encode()).hexdigest()[:16]}"


class SharedFlight:
    def __init__(self, state: SharedState, wait: float) -> None:
        self.state = state
        self.wait = wait

    def scoped(self, scope: str) -> ScopedFlight:
        return ScopedFlight(self, scope)


class ScopedFlight:
    """connectors.remote.metacache.SharedLoads for one source."""

    def __init__(self, flight: SharedFlight, scope: str) -> None:
        self.flight = flight
        self.scope = scope

    async def load(
        self, key: str, load: Callable[[], Awaitable[T]], kind: type[T], ttl: float
    ) -> T:
        state = self.flight.state
        redis = state.client()
        if redis is None:
            return await load()
        value_key = state.key("meta", self.scope, key)
        lock_key = f"{value_key}:lock"
        adapter = _adapter(kind)
        token = secrets.token_hex(8)
        try:
            found = _decode(adapter, await redis.get(value_key))
            if found is not None:
                return found  # type: ignore[no-any-return]
            lock_ms = int((self.flight.wait + 5) * 1000)
            mine = await redis.set(lock_key, token, nx=True, px=lock_ms)
        except REDIS_ERRORS as e:
            state.failed(e)
            return await load()
        if mine:
            return await self._lead(load, adapter, value_key, lock_key, token, ttl)
        found = await self._follow(adapter, value_key, lock_key)
        return found if found is not None else await load()

    async def _lead(
        self,
        load: Callable[[], Awaitable[T]],
        adapter: TypeAdapter[Any],
        value_key: str,
        lock_key: str,
        token: str,
        ttl: float,
    ) -> T:
        state = self.flight.state
        try:
            value = await load()
        except BaseException:
            self._unlock(lock_key, token)
            raise
        data = adapter.dump_json(value)
        redis = state.client()
        if redis is not None and len(data) <= MAX_VALUE_BYTES:
            try:
                await redis.set(value_key, data, px=max(1, int(ttl * 1000)))
            except REDIS_ERRORS as e:
                state.failed(e)
        self._unlock(lock_key, token)
        return value

    def _unlock(self, lock_key: str, token: str) -> None:
        state = self.flight.state
        redis = state.client()
        if redis is not None:
            state.spawn(_unlock(redis, lock_key, token))

    async def _follow(self, adapter: TypeAdapter[Any], value_key: str, lock_key: str) -> Any:
        """Another worker is loading: its value, or None (then load here)."""
        state = self.flight.state
        loop = asyncio.get_running_loop()
        until = loop.time() + self.flight.wait
        while loop.time() < until:
            await asyncio.sleep(POLL)
            redis = state.client()
            if redis is None:
                return None
            try:
                pipe = redis.pipeline(transaction=False)
                pipe.get(value_key)
                pipe.exists(lock_key)
                data, locked = await pipe.execute()
            except REDIS_ERRORS as e:
                state.failed(e)
                return None
            found = _decode(adapter, data)
            if found is not None:
                return found
            if not locked:
                return None  # the holder failed: try it here
        return None


async def _unlock(redis: Any, lock_key: str, token: str) -> None:
    await redis.eval(_UNLOCK, 1, lock_key, token)


def _decode(adapter: TypeAdapter[Any], data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return adapter.validate_json(data)
    except ValidationError as e:
        log.warning("shared metadata did not validate, loading it again: %s", e.error_count())
        return None
