"""A circuit breaker per source: a backend that keeps failing is left alone for a while.

Without it, every request to a city whose server hangs waits the full timeout, and a
federated request waits for it on every page. After `failures` consecutive failures the
circuit opens: calls fail at once for `cooldown` seconds. Then one trial call goes through
(half-open): success closes the circuit, failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Breaker:
    def __init__(
        self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures  # 0: never opens
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def open(self) -> bool:
        return self._opened_at is not None

    def retry_in(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def allow(self) -> bool:
        """May a call go to the source now? (Half-open: only the one trial call.)"""
        if self._opened_at is None:
            return True
        if self._trial or self.retry_in() > 0:
            return False
        self._trial = True
        return True

    def succeeded(self) -> None:
        self._failures, self._opened_at, self._trial = 0, None, False

    def abandoned(self) -> None:
        """A call was cancelled (the client went away): it says nothing about the source."""
        self._trial = False

    def failed(self) -> None:
        self._failures += 1
        self._trial = False
        if self.threshold and (self._opened_at is not None or self._failures >= self.threshold):
            self._opened_at = self._clock()
