"""The in-process response store: a byte budget, least recently used out first."""

from __future__ import annotations

import time

import pytest

from gateway.httpcache.store import Entry, MemoryStore

pytestmark = pytest.mark.anyio


def entry(size: int, expires: float | None = None) -> Entry:
    return Entry(200, ((b"content-type", b"application/json"),), b"x" * size, expires)


async def test_least_recently_used_entries_leave_when_the_budget_is_exceeded() -> None:
    one = len("a") + entry(1000).size
    store = MemoryStore(max_bytes=3 * one, max_entry_bytes=one)
    for key in "abc":
        await store.put(key, entry(1000))
    assert await store.get("a") is not None  # a is now the most recently used
    await store.put("d", entry(1000))
    assert await store.get("b") is None
    assert [await store.get(k) is not None for k in "acd"] == [True, True, True]
    assert store.used <= store.max_bytes and len(store) == 3


async def test_an_entry_above_the_per_entry_cap_is_not_kept() -> None:
    store = MemoryStore(max_bytes=1_000_000, max_entry_bytes=2_000)
    await store.put("big", entry(2_000))
    await store.put("small", entry(100))
    assert await store.get("big") is None
    assert await store.get("small") is not None
    assert store.used == len("small") + entry(100).size


async def test_replacing_a_key_keeps_the_byte_count_exact_and_expired_entries_are_gone() -> None:
    store = MemoryStore(max_bytes=1_000_000, max_entry_bytes=100_000)
    await store.put("k", entry(500))
    await store.put("k", entry(50))
    assert store.used == len("k") + entry(50).size
    await store.put("old", entry(10, expires=time.monotonic() - 1))
    assert await store.get("old") is None
    assert store.used == len("k") + entry(50).size
