"""Sliding-window counting, the same arithmetic in process and in Redis.

Each counter keeps the requests of the current fixed window and of the one before; the
estimate of the last `window` seconds weighs the previous window by the part of it still
inside the sliding window (`prev × (window − elapsed) / window + cur`). Unlike a plain fixed
window it does not let a client send twice its limit across a window boundary, and it needs
two integers per counter, not a log of timestamps. A refused request is not counted, so a
client that keeps hammering does not use up its tenant's budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds, ≥ 1 when refused
    which: int = -1  # the refusing limit's index in the list checked


def estimate(prev: int, cur: int, elapsed: float, window: float) -> float:
    """Requests within the last `window` seconds, `elapsed` into the current window."""
    return prev * (window - elapsed) / window + cur


def retry_after(limit: int, window: float, elapsed: float, prev: int, cur: int) -> float:
    """Seconds until one more request fits, if nothing else is counted meanwhile."""
    room = limit - 1  # the estimate must fall to this for the next request to pass
    left = window - elapsed  # of the current window
    if cur <= room:  # within this window, as the previous one slides out
        return max(0.0, left - (room - cur) * window / prev) if prev else 0.0
    # in the next window this one is the previous: cur × (window − t) / window ≤ room
    return left + window - room * window / cur


def verdict(
    limit: int, window: float, elapsed: float, prev: int, cur: int, which: int = 0
) -> Verdict:
    if estimate(prev, cur, elapsed, window) + 1 <= limit:
        return Verdict(True)
    wait = retry_after(limit, window, elapsed, prev, cur)
    return Verdict(False, max(1, math.ceil(wait)), which)


class LocalWindows:
    """The counters of one worker: used without Redis and while Redis is unreachable."""

    def __init__(self, max_counters: int = 100_000) -> None:
        self.max_counters = max_counters
        # key -> (window length, window number, prev, cur)
        self._counts: dict[str, tuple[float, int, int, int]] = {}

    def __len__(self) -> int:
        return len(self._counts)

    def _read(self, key: str, number: int) -> tuple[int, int]:
        _, at, prev, cur = self._counts.get(key, (0.0, number, 0, 0))
        if at == number:
            return prev, cur
        return (cur if at == number - 1 else 0), 0

    def hit(self, limits: list[tuple[str, int, float]], now: float) -> Verdict:
        """Count one request against every (key, limit, window) if all allow it."""
        readings = []
        for which, (key, limit, window) in enumerate(limits):
            number, elapsed = divmod(now, window)
            prev, cur = self._read(key, int(number))
            found = verdict(limit, window, elapsed, prev, cur, which)
            if not found.allowed:
                return found
            readings.append((key, window, int(number), prev, cur))
        for key, window, number, prev, cur in readings:
            self._counts[key] = (window, number, prev, cur + 1)
        if len(self._counts) > self.max_counters:
            self._forget(now)
        return Verdict(True)

    def _forget(self, now: float) -> None:
        """Drop counters whose windows have passed; if that is not enough, the oldest."""
        stale = [k for k, (w, n, _, _) in self._counts.items() if (n + 2) * w <= now]
        for key in stale:
            del self._counts[key]
        while len(self._counts) > self.max_counters:
            del self._counts[next(iter(self._counts))]
