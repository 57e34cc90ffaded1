"""The usage KPIs as the application sees them: `record` on the request path (a few dict
operations), a background flush of the tally into the shared state, and the summary that
/catalog shows (re-read after each flush, so a request never reads the file)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.types import Scope

from gateway.config import LoadedConfig
from gateway.errors import ConfigError
from gateway.metrics import MULTIPROCESS_ENV
from gateway.usage import prom
from gateway.usage.attribution import Attribution
from gateway.usage.clients import ClientIdentity, derived_secret
from gateway.usage.config import UsageSettings
from gateway.usage.served import SERVED_KEY
from gateway.usage.store import UsageStore
from gateway.usage.tally import Tally

log = logging.getLogger("twinbridge.usage")
STATE_FILE = "twinbridge-usage.sqlite"


def state_path(loaded: LoadedConfig) -> Path | None:
    """The configured file, else one in the workers' shared metrics folder, else memory."""
    configured = loaded.config.server.usage.state_path
    if configured:
        return loaded.base_dir / configured
    shared = os.environ.get(MULTIPROCESS_ENV)
    return Path(shared) / STATE_FILE if shared else None


def _day(moment: float) -> tuple[str, float]:
    """The UTC day of `moment` and when it ends (Unix time)."""
    day = datetime.fromtimestamp(moment, UTC).date()
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return day.isoformat(), end.timestamp()


class Usage:
    def __init__(
        self,
        settings: UsageSettings,
        attribution: Attribution,
        secret: bytes,
        path: Path | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self.attribution = attribution
        self.identity = ClientIdentity(secret)
        self.clock = clock
        self.store = UsageStore(path, settings.max_clients)
        self.tally = Tally(settings.max_clients)
        self.children = prom.Children()
        self.rows: list[dict[str, Any]] = []  # the summary /catalog shows: per day
        self.totals: list[dict[str, Any]] = []  # and over its days
        self.updated: str | None = None
        self.version = 0  # grows with each new summary (for /catalog's answer cache)
        self._day, self._day_end = "", 0.0
        self._shown: set[tuple[str, str, str]] = set()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, loaded: LoadedConfig, attribution: Attribution) -> Usage:
        settings = loaded.config.server.usage
        given = settings.client_secret
        secret = (
            given.get_secret_value().encode()
            if given is not None
            else derived_secret(loaded.config.model_dump_json())
        )
        path = state_path(loaded)
        try:
            return cls(settings, attribution, secret, path)
        except (OSError, sqlite3.Error) as e:
            raise ConfigError(
                f"{loaded.origin}: server.usage.state_path: cannot keep the usage figures in "
                f"'{path}' ({e}); name a writable file, or set server.usage.enabled: false"
            ) from None

    def today(self) -> str:
        now = self.clock()
        if now >= self._day_end or now < self._day_end - 86400:
            self._day, self._day_end = _day(now)
        return self._day

    def record(self, scope: Scope, status: int, size: int) -> None:
        """One answer sent to a client (the middleware skips internal requests)."""
        if status >= 400:
            return
        labels = self.attribution(scope)
        if labels is None:
            return
        features = scope.get(SERVED_KEY, 0)
        if scope["method"] == "HEAD":  # the server sends no body, whatever the app wrote
            features = size = 0
        client = self.identity.identify(scope)
        self.tally.add((self.today(), *labels), features, size, client)
        self.children.add(labels, features, size)

    async def flush(self) -> None:
        """Hand the tally to the state file (in a thread) and re-read the summary."""
        batch, self.tally = self.tally, Tally(self.settings.max_clients)
        try:
            await asyncio.to_thread(self._write, batch)
        except Exception:  # not written (rolled back): counted at the next flush
            self.tally.merge(batch)
            raise
        # (cancelled: the thread still writes the batch, so it is not taken back)

    def flush_sync(self) -> None:
        """The same, for a caller outside the event loop (tests)."""
        batch, self.tally = self.tally, Tally(self.settings.max_clients)
        self._write(batch)

    def _write(self, batch: Tally) -> None:
        """Only adding the batch may raise: once it is written, it is never taken back."""
        today = self.today()
        first = datetime.fromisoformat(today).date()
        oldest = (first - timedelta(days=self.settings.days_kept - 1)).isoformat()
        if batch:
            self.store.add(batch, oldest)
        try:
            self._summarise(today, first)
        except Exception:
            log.exception("usage: reading the summary failed; /catalog shows the last one")

    def _summarise(self, today: str, first: date) -> None:
        shown = (first - timedelta(days=self.settings.catalog_days - 1)).isoformat()
        rows, totals = self.store.summary(shown)
        prom.publish_clients([r for r in rows if r["day"] == today], self._shown)
        if rows != self.rows:
            self.rows, self.totals = rows, totals
            self.updated = datetime.fromtimestamp(self.clock(), UTC).isoformat("T", "seconds")
            self.version += 1

    def document(self) -> dict[str, Any]:
        """/catalog's usage section."""
        return {
            "description": "Per UTC day (rows) and over the days shown (totals), per tenant "
            "('*': federated or none), profile ('none': no single one) and API: requests "
            "served (status below 400), features or SensorThings entities they held, body "
            "bytes sent, distinct client applications (API key or X-Client; "
            "clientsAtLeast: more came than are remembered) and requests that named none.",
            "days": self.settings.catalog_days,
            "updated": self.updated,
            "flushSeconds": self.settings.flush_seconds,
            "totals": self.totals,
            "rows": self.rows,
        }

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-flush")

    async def _run(self) -> None:
        while True:
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # a locked or full disk must not stop serving
                log.exception("usage: flushing the tally failed; kept for the next one")
            await asyncio.sleep(self.settings.flush_seconds)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.enabled:
            await self.flush()
