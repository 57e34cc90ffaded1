"""The response cache kept in Redis, so an answer made by one worker or instance is served
by all. Same protocol as the in-process store (gateway/httpcache/store.py), which stays
behind it for the times Redis is unreachable.

One Redis string per answer: a JSON head (status, headers, when kept, features served)
and the body after it. Keys are hashed (the cache key holds the whole normalized request),
and every entry has a TTL: its own, or `response_ttl` for answers whose sources have
versions (a new version is a new key, old ones expire). Answers larger than
`max_entry_bytes` are never kept, here as in process.
"""

from __future__ import annotations

import hashlib
import time

import orjson

from gateway.httpcache.store import Entry, MemoryStore
from gateway.shared.state import REDIS_ERRORS, SharedState

_SEP = b"\n"


def encode(entry: Entry) -> bytes:
    head = {
        "s": entry.status,
        "h": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in entry.headers],
        "t": entry.stored,
        "n": entry.served,
    }
    return orjson.dumps(head) + _SEP + entry.body


def decode(data: bytes) -> Entry | None:
    head_bytes, sep, body = data.partition(_SEP)
    if not sep:
        return None
    try:
        head = orjson.loads(head_bytes)
        headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in head["h"])
        return Entry(int(head["s"]), headers, body, None, float(head["t"]), int(head["n"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class RedisResponseStore:
    def __init__(
        self, state: SharedState, fallback: MemoryStore, max_entry_bytes: int, default_ttl: float
    ) -> None:
        self.state = state
        self.fallback = fallback
        self.max_entry_bytes = max_entry_bytes
        self.default_ttl = default_ttl

    def _key(self, key: str) -> str:
        return self.state.key("response", hashlib.sha256(key.encode()).hexdigest())

    async def get(self, key: str) -> Entry | None:
        redis = self.state.client()
        if redis is None:
            return await self.fallback.get(key)
        try:
            data = await redis.get(self._key(key))
        except REDIS_ERRORS as e:
            self.state.failed(e)
            return await self.fallback.get(key)
        return None if data is None else decode(data)

    async def put(self, key: str, entry: Entry) -> None:
        if len(key) + entry.size > self.max_entry_bytes:
            return
        redis = self.state.client()
        if redis is None:
            await self.fallback.put(key, entry)
            return
        ttl = self.default_ttl
        if entry.expires is not None:
            ttl = entry.expires - time.monotonic()
            if ttl <= 0:
                return
        try:
            await redis.set(self._key(key), encode(entry), px=max(1, int(ttl * 1000)))
        except REDIS_ERRORS as e:
            self.state.failed(e)
            await self.fallback.put(key, entry)
