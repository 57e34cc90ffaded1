"""One scheduler for every sync source of every tenant.

Each source runs at its own interval and never twice at once; a failed run (broker down, a
broken answer, the store refusing) is logged, counted in /metrics and retried with
exponential backoff, and never stops the scheduler or the application. A run: make sure the
subscription exists (when configured; again every RECHECK seconds, since a broker may lose
it), poll the entities changed since the last run, store them (upsert.py), and on a source's
first synchronisation read its history. Notifications (notify.py) go through the same `apply`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.metrics import count_left_out
from gateway.sensorthings.encode import Links
from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.write import WriteContext
from gateway.sensorthings.sync import metrics, subscribe
from gateway.sensorthings.sync.ngsi import NgsiSource
from gateway.sensorthings.sync.ngsimap import EntityData
from gateway.sensorthings.sync.rest import RestSource
from gateway.sensorthings.sync.upsert import SyncResult, upsert_plan

log = logging.getLogger("twinbridge.sensorthings.sync")
BACKOFF_BASE = 5.0
BACKOFF_CAP = 600.0
HISTORY_TRIES = 3
BATCH = 500  # entities per store transaction
RECHECK = 300.0  # seconds between checks that the broker still holds the subscription
IDLE = RECHECK  # a source without polling runs this often (the subscription check)


@dataclass
class SourceState:
    source: NgsiSource | RestSource
    service: Any  # the tenant's EmbeddedService
    due: float = 0.0
    failures: int = 0
    runs: int = 0
    subscribed: float | None = None  # when the broker last confirmed the subscription
    polled: bool = False
    history_wanted: bool | None = None  # None: not known yet (are there Things of it?)
    history_tries: int = 0
    task: asyncio.Task[None] | None = None


def _count_things(ctx: WriteContext, source: str) -> Plan[int]:
    sql, d = ctx.sql(), ctx.dialect
    where = f"{d.json_text(d.json_get(sql, 'properties', ('source',)))} = {sql.param(source)}"
    rows = yield Stmt(f"SELECT COUNT(*) FROM things WHERE {where}", sql.params)
    return int(rows[0][0])


def _source(tenant: str, item: Any) -> NgsiSource | RestSource:
    """The reader of a configured source, by its kind."""
    return RestSource(tenant, item) if item.kind == "rest" else NgsiSource(tenant, item)


class SyncScheduler:
    def __init__(self, loaded: Any, services: dict[str, Any]) -> None:
        self.states: dict[tuple[str, str], SourceState] = {}
        for tenant, service in services.items():
            cfg = loaded.config.tenants[tenant].sensorthings
            for item in cfg.sync if hasattr(service, "store") else []:
                self.states[(tenant, item.name)] = SourceState(_source(tenant, item), service)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def source(self, tenant: str, name: str) -> SourceState | None:
        return self.states.get((tenant, name))

    def start(self) -> None:
        if self.states:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        tasks = [s.task for s in self.states.values() if s.task is not None]
        if self._task is not None:
            tasks.append(self._task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for state in self.states.values():
            await state.source.close()

    async def _loop(self) -> None:
        while True:
            now = time.monotonic()
            for state in self.states.values():
                if (state.task is None or state.task.done()) and now >= state.due:
                    state.task = asyncio.create_task(self._run(state))
            pending = [s.due for s in self.states.values() if s.task is None or s.task.done()]
            delay = max(0.05, min(pending, default=now + 1.0) - time.monotonic())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(delay, 1.0))

    async def _run(self, state: SourceState) -> None:
        source, cfg = state.source, state.source.cfg
        try:
            await self._once(state)
        except Exception as e:  # anything: a sync failure must not stop the others
            state.failures += 1
            wait = min(BACKOFF_CAP, max(cfg.interval, BACKOFF_BASE) * 2 ** (state.failures - 1))
            state.due = time.monotonic() + wait
            metrics.SYNC_RUNS.labels(source.label, "failed").inc()
            log.warning(
                "sync %s failed (%d in a row; next try in %.0f s): %s",
                source.label,
                state.failures,
                wait,
                str(e) or type(e).__name__,
            )
        else:
            state.failures = 0
            state.due = time.monotonic() + (cfg.interval if cfg.interval > 0 else IDLE)
            metrics.SYNC_RUNS.labels(source.label, "ok").inc()
        finally:
            state.runs += 1
            self._wake.set()

    async def _once(self, state: SourceState) -> None:
        """Subscribe (a failure does not keep the poll from running, and is raised after
        it so that the run is retried), poll, and on the first synchronisation read the
        history; each step within the source's timeout."""
        source, timeout = state.source, state.source.cfg.timeout
        failed: Exception | None = None
        stale = state.subscribed is None or time.monotonic() - state.subscribed > RECHECK
        if source.cfg.subscription is not None and stale:
            try:
                async with asyncio.timeout(timeout):
                    await self._subscribe(state)
            except Exception as e:
                failed = e
        if state.history_wanted is None:
            dialect = state.service.store.dialect
            held = await state.service.store.read(
                _count_things(WriteContext(dialect), source.cfg.name)
            )
            state.history_wanted = held == 0
        if not state.polled or source.cfg.interval > 0:
            async with asyncio.timeout(timeout):
                entities = await source.poll()
            await self.apply(state, entities, None)
            source.commit()  # a rest source's series windows move on only once stored
            state.polled = True
        if state.history_wanted:
            await self._history(state)
        if failed is not None:
            raise failed

    async def _history(self, state: SourceState) -> None:
        """The past values, tried at HISTORY_TRIES runs: a broker without the temporal API
        (Orion-LD without Mintaka) must not slow the polls down with backoff."""
        source = state.source
        state.history_tries += 1
        try:
            async with asyncio.timeout(source.cfg.timeout):
                history = await source.history()
            await self.apply(state, history, None)
        except Exception as e:
            metrics.SYNC_RUNS.labels(source.label, "history_failed").inc()
            give_up = state.history_tries >= HISTORY_TRIES
            log.warning(
                "sync %s: no history from the temporal API (%s)%s",
                source.label,
                str(e) or type(e).__name__,
                "; not trying again" if give_up else "; trying again at the next run",
            )
            if give_up:
                state.history_wanted = False
        else:
            state.history_wanted = False

    async def _subscribe(self, state: SourceState) -> None:
        label = state.source.label
        try:
            sid = await subscribe.ensure(state.source)
        except Exception:
            metrics.SYNC_SUBSCRIPTIONS.labels(label, "failed").inc()
            raise
        metrics.SYNC_SUBSCRIPTIONS.labels(label, "ok").inc()
        if state.subscribed is None:
            log.info("sync %s: subscription %s at the broker", label, sid)
        state.subscribed = time.monotonic()

    async def apply(
        self, state: SourceState, entities: Sequence[EntityData], links: Links | None
    ) -> SyncResult:
        """Store entities of the source (one transaction per BATCH entities) and announce
        what was new; an entity the store refuses is left out, the others are kept."""
        source = state.source
        for entity in entities:
            for attribute, problem in entity.left_out:
                count_left_out(source.label, attribute, problem)
        result = SyncResult()
        for i in range(0, len(entities), BATCH):
            result.add(await self._batch(state, entities[i : i + BATCH], links))
        metrics.SYNC_OBSERVATIONS.labels(source.label).inc(result.observations)
        metrics.SYNC_SKIPPED.labels(source.label).inc(result.skipped)
        if result.things or result.datastreams or result.observations or result.moved:
            log.info(
                "sync %s: %d Things, %d Datastreams, %d Observations new, %d moved, %d skipped",
                source.label,
                result.things,
                result.datastreams,
                result.observations,
                result.moved,
                result.skipped,
            )
        return result

    async def _batch(
        self, state: SourceState, entities: Sequence[EntityData], links: Links | None
    ) -> SyncResult:
        try:
            return await self._write(state, entities, links)
        except InvalidBody:  # one entity the store refuses (too long a name ...): the others
            result = SyncResult()
            for entity in entities:
                try:
                    result.add(await self._write(state, [entity], links))
                except InvalidBody as e:
                    result.skipped += len(entity.readings) or 1
                    log.warning("sync %s: entity %s refused: %s", state.source.label, entity.id, e)
            return result

    @staticmethod
    async def _write(
        state: SourceState, entities: Sequence[EntityData], links: Links | None
    ) -> SyncResult:
        cfg, profile = state.source.cfg, state.source.profile
        if profile is not None:  # values in the profile's units (convert.py)
            entities = profile.converted(entities)
        result: SyncResult = await state.service.run_write(
            lambda ctx: upsert_plan(
                ctx, cfg.name, entities, cfg.units, profile=profile, formerly=cfg.formerly
            ),
            links,
        )
        return result
