"""A circuit breaker per source: a backend that keeps failing is left alone for a while.

Without it, every request to a city whose server hangs waits the full timeout, and a
federated request waits for it on every page. After `failures` consecutive failures the
circuit opens: calls fail at once for `cooldown` seconds. Then one trial call goes through
(half-open): success closes the circuit, failure opens it again.

With shared state (gateway/shared/breakers.py) an observer hears each outcome and tells the
other workers; what they decided comes back through `adopt` and `release`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class BreakerObserver(Protocol):
    def failed(self, breaker: Breaker) -> None: ...
    def succeeded(self, breaker: Breaker, had_failures: bool) -> None: ...


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
        self.observer: BreakerObserver | None = None

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
        had_failures = bool(self._failures) or self._opened_at is not None
        self._failures, self._opened_at, self._trial = 0, None, False
        if self.observer is not None:
            self.observer.succeeded(self, had_failures)

    def abandoned(self) -> None:
        """A call was cancelled (the client went away): it says nothing about the source."""
        self._trial = False

    def failed(self) -> None:
        self._failures += 1
        self._trial = False
        if self.threshold and (self._opened_at is not None or self._failures >= self.threshold):
            self._opened_at = self._clock()
        if self.observer is not None:
            self.observer.failed(self)

    def adopt(self, remaining: float) -> None:
        """Another worker opened the circuit: open here too, for the `remaining` seconds."""
        self._opened_at = self._clock() - self.cooldown + remaining
        self._failures = max(self._failures, self.threshold)
        self._trial = False

    def release(self) -> None:
        """Another worker's trial call succeeded: close here too."""
        self._failures, self._opened_at, self._trial = 0, None, False
