"""Where the rate-limit counters live: Redis when configured and reachable (every worker
and instance counts together), else this worker's own (gateway/ratelimit/windows.py).

In Redis, one Lua script per request reads every counter the request is checked against
(client and tenant: the current and previous window of each) and, only when all allow it,
increments the current ones and sets their expiry (two windows): atomic, one round trip.
Window numbers come from this worker's clock, so instances should run NTP.
"""

from __future__ import annotations

import time

from gateway.ratelimit.windows import LocalWindows, Verdict, verdict
from gateway.shared.state import REDIS_ERRORS, SharedState

Limit = tuple[str, int, float]  # counter key, requests, window seconds

_CHECK_AND_COUNT = """
local n = #ARGV / 3
local counts = {}
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local elapsed = tonumber(ARGV[3 * i])
  local cur = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local prev = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  if prev * (window - elapsed) / window + cur + 1 > limit then
    return {i, prev, cur}
  end
end
for i = 1, n do
  redis.call('INCR', KEYS[2 * i - 1])
  redis.call('PEXPIRE', KEYS[2 * i - 1], 2 * tonumber(ARGV[3 * i - 1]))
end
return {0, 0, 0}
"""


class Counters:
    def __init__(self, state: SharedState | None) -> None:
        self.state = state
        self.local = LocalWindows()
        self._script = None

    async def hit(self, limits: list[Limit], now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        redis = self.state.client() if self.state is not None else None
        if redis is None:
            return self.local.hit(limits, now)
        assert self.state is not None
        keys: list[str] = []
        args: list[int] = []
        for key, limit, window in limits:
            window_ms = int(window * 1000)
            number, elapsed = divmod(int(now * 1000), window_ms)
            keys += [
                self.state.key("rate", key, str(number)),
                self.state.key("rate", key, str(number - 1)),
            ]
            args += [limit, window_ms, elapsed]
        if self._script is None:
            self._script = redis.register_script(_CHECK_AND_COUNT)
        try:
            refused, prev, cur = await self._script(keys=keys, args=args, client=redis)
        except REDIS_ERRORS as e:
            self.state.failed(e)
            return self.local.hit(limits, now)
        if not refused:
            return Verdict(True)
        which = int(refused) - 1
        _, limit, window = limits[which]
        return verdict(limit, window, now % window, int(prev), int(cur), which)
