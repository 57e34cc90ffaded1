"""Circuit breakers shared by every worker and instance: a source that failed `failures`
times in a row, counted across all of them, is left alone by all of them.

Per source three keys: `breaker:<source>:failures` (INCR on each failure, deleted on a
success; it expires after twice the cooldown, at least a minute, so an old streak does not
linger), `breaker:<source>:open` (set when the streak reaches the threshold or a trial
call fails, with the cooldown as TTL: its expiry is the half-open moment everywhere) and
`breaker:<source>:trial` (which worker holds the one trial call of the cluster).

The request path never waits on Redis: each call still asks the local Breaker, which every
worker refreshes from Redis every `breaker_sync` seconds (0.5 s), one pipelined round trip
for all sources; failures and successes are written in the background. A circuit opened
elsewhere is thus seen here within 0.5 s — polling rather than pub/sub, because a poll
heals itself after a Redis outage (a missed message would leave a view stale) and costs a
fixed 2 round trips per second per worker, whatever the load.

After the cooldown the cluster lets one trial call through, not one per worker: a local
circuit stays open `hold` (two refreshes) longer than Redis's, so no worker half-opens on
its own clock; the first refresh that finds the `open` key gone claims the trial key
(SET NX with this worker's token, renewed while its trial is pending) and only the winner
half-opens; the others keep holding. A success anywhere deletes the keys, and the other
workers close their circuit at their next refresh; a failed trial sets `open` again. A
winner that dies leaves its claim to expire (`TRIAL_HOLDS` refreshes), then another worker
claims it.
"""

from __future__ import annotations

import secrets

import redis.asyncio as aioredis

from gateway import metrics
from gateway.breaker import Breaker
from gateway.shared.state import SharedState

TRIAL_HOLDS = 5  # refreshes a claim on the trial call lasts unless its holder renews it


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class SharedBreakers:
    def __init__(self, state: SharedState) -> None:
        self.state = state
        self._breakers: dict[str, Breaker] = {}
        self._failures: dict[str, int] = {}  # as last read from Redis
        self._seen_open: dict[str, bool] = {}
        self._token = secrets.token_hex(8)
        self.hold = 2 * state.settings.breaker_sync
        state.every_sync(self.sync)

    def attach(self, name: str, breaker: Breaker) -> None:
        if breaker.threshold == 0:  # breaker off: nothing to share
            return
        self._breakers[name] = breaker
        breaker.observer = _Observer(self, name)

    def _keys(self, name: str) -> tuple[str, str, str]:
        key = self.state.key
        return (
            key("breaker", name, "failures"),
            key("breaker", name, "open"),
            key("breaker", name, "trial"),
        )

    async def sync(self, redis: aioredis.Redis) -> None:
        """Adopt what the other workers decided (one round trip for every source)."""
        if not self._breakers:
            return
        names = list(self._breakers)
        pipe = redis.pipeline(transaction=False)
        for name in names:
            failures, opened, _ = self._keys(name)
            pipe.pttl(opened)
            pipe.get(failures)
        answers = await pipe.execute()
        for i, name in enumerate(names):
            pttl, failures = int(answers[2 * i]), int(answers[2 * i + 1] or 0)
            self._apply(name, pttl, failures)
            if pttl <= 0 and failures and self._breakers[name].open:
                await self._claim_trial(redis, name)

    def _apply(self, name: str, pttl: int, failures: int) -> None:
        breaker = self._breakers[name]
        was_open = breaker.open
        self._failures[name] = failures
        if pttl > 0:
            remaining = pttl / 1000 + self.hold
            if not breaker.open or breaker.retry_in() + 0.25 < remaining:
                breaker.adopt(remaining)
            self._seen_open[name] = True
        elif failures == 0:
            if self._seen_open.get(name) and breaker.open:
                breaker.release()  # a trial call succeeded elsewhere
            self._seen_open[name] = False
        if breaker.open != was_open:
            metrics.observe_circuit(name, breaker.open)

    async def _claim_trial(self, redis: aioredis.Redis, name: str) -> None:
        """The cooldown ran out everywhere: one worker of the cluster makes the trial call."""
        breaker = self._breakers[name]
        trial = self._keys(name)[2]
        ttl = _ms(TRIAL_HOLDS * self.state.settings.breaker_sync)
        won = await redis.set(trial, self._token, nx=True, px=ttl)
        if not won and await redis.get(trial) == self._token.encode():
            won = await redis.pexpire(trial, ttl)  # ours: renewed while the trial is pending
        if not won:
            breaker.adopt(self.hold)  # another worker has the trial call
        elif breaker.retry_in() > 0:
            breaker.adopt(0)  # half-open here; a trial already under way is left alone

    async def record_failure(self, redis: aioredis.Redis, name: str, breaker: Breaker) -> None:
        failures, opened, trial = self._keys(name)
        pipe = redis.pipeline(transaction=False)
        pipe.incr(failures)
        pipe.pexpire(failures, _ms(max(2 * breaker.cooldown, 60)))
        count, _ = await pipe.execute()
        self._failures[name] = int(count)
        if breaker.open or count >= breaker.threshold:
            breaker.adopt(breaker.cooldown + self.hold)
            pipe = redis.pipeline(transaction=False)
            pipe.set(opened, b"1", px=_ms(breaker.cooldown))
            pipe.delete(trial)
            await pipe.execute()
            self._seen_open[name] = True

    async def record_success(self, redis: aioredis.Redis, name: str) -> None:
        self._failures[name], self._seen_open[name] = 0, False
        await redis.delete(*self._keys(name))


class _Observer:
    def __init__(self, shared: SharedBreakers, name: str) -> None:
        self.shared = shared
        self.name = name

    def failed(self, breaker: Breaker) -> None:
        redis = self.shared.state.client()
        if redis is not None:
            self.shared.state.spawn(self.shared.record_failure(redis, self.name, breaker))

    def succeeded(self, breaker: Breaker, had_failures: bool) -> None:
        """Only a success that ends a streak (here or elsewhere) writes: the hot path of a
        healthy source never touches Redis."""
        shared, name = self.shared, self.name
        if not (had_failures or shared._failures.get(name) or shared._seen_open.get(name)):
            return
        redis = shared.state.client()
        if redis is not None:
            shared.state.spawn(shared.record_success(redis, name))
