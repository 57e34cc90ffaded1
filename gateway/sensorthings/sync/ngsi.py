"""Reading a broker for the sync: changed entities by polling, and history.

Polling windows. NGSI-v2 filters on the builtin `dateModified` (`q=dateModified>=W`, asked
for with `attrs=dateModified,*`) and pages in creation order, which a modification during
the poll does not reshuffle. NGSI-LD defines no `modifiedAt` filter for `/entities`, so an
LD poll reads the types' entities with `options=sysAttrs` and keeps those modified since W.
W is the latest modification time seen (the broker's clock) minus the poll's duration and a
margin, so that a change made while the poll was paging is read by the next one; what is
read twice is stored once (upsert.py keys Observations by Datastream and phenomenonTime).

History: NGSI-LD's temporal API (`/temporal/entities`, `timerel=after`, `lastN`), paged, on
a source's first synchronisation; a broker without it answers an error and is polled as usual.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.ngsi import ldclient, v2client
from connectors.remote.http import HttpEndpoint
from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.sync.config import NgsiSync
from gateway.sensorthings.sync.ngsimap import EntityData, from_ld, from_ld_temporal, from_v2
from gateway.sensorthings.timefmt import iso, parse_instant

MARGIN = 5.0  # seconds of overlap between polling windows, beyond the poll's duration


def _micros(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("@value", value.get("value"))
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value, "dateModified")
    except InvalidBody:
        return None


class NgsiSource:
    """One configured broker of one tenant: its HTTP endpoint and polling window."""

    def __init__(self, tenant: str, cfg: NgsiSync) -> None:
        self.tenant = tenant
        self.cfg = cfg
        self.label = f"{tenant}/{cfg.name}"
        self.endpoint = HttpEndpoint(cfg.url, cfg, name=f"sync {self.label}")
        self.v2_headers = v2client.service_headers(cfg.service, cfg.service_path)
        self.ld_target = ldclient.LdTarget(cfg.tenant, cfg.context)
        self.watermark: int | None = None  # microseconds, the broker's clock
        self.profile = cfg.profile_binding()  # the SensorThings profile it conforms to

    @property
    def is_ld(self) -> bool:
        return self.cfg.kind == "ngsi-ld"

    async def open(self) -> None:
        if not self.endpoint.is_open:
            await self.endpoint.open()

    async def close(self) -> None:
        await self.endpoint.close()

    def parse(self, entity: dict[str, Any]) -> EntityData:
        """A notified or polled entity (normalized) as the store needs it."""
        read = from_ld if self.is_ld else from_v2
        return read(entity, self.cfg.attributes)

    def commit(self) -> None:
        """What a poll read is stored (a broker's modified-since window moves at the poll,
        since it re-reads whatever changed after it anyway)."""

    async def poll(self) -> list[EntityData]:
        """The entities modified since the last poll (all of them on the first)."""
        await self.open()
        started = time.monotonic()
        seen: list[int] = []
        out: list[EntityData] = []
        for type_name in self.cfg.types:
            async for entity in self._entities(type_name):
                modified = _micros(entity.get("modifiedAt" if self.is_ld else "dateModified"))
                if modified is not None:
                    seen.append(modified)
                    if self.is_ld and self.watermark is not None and modified < self.watermark:
                        continue
                out.append(self.parse(entity))
        if seen:
            overlap = int((time.monotonic() - started + MARGIN) * 1_000_000)
            self.watermark = max(seen) - overlap
        return out

    def _entities(self, type_name: str) -> Any:
        size = self.cfg.page_size
        if self.is_ld:
            params = {"type": type_name, "options": "sysAttrs"}
            return ldclient.iter_entities(self.endpoint, self.ld_target, params, page_size=size)
        params = {"type": type_name, "attrs": "dateModified,*", "orderBy": "dateCreated"}
        if self.watermark is not None:
            params["q"] = f"dateModified>={iso(self.watermark)}"
        return v2client.iter_entities(self.endpoint, params, self.v2_headers, page_size=size)

    async def history(self, now: datetime | None = None) -> list[EntityData]:
        """Past values from the NGSI-LD temporal API (empty for v2, or when disabled)."""
        cfg = self.cfg.history
        if not self.is_ld or not cfg.enabled:
            return []
        await self.open()
        since = (now or datetime.now(UTC)) - timedelta(days=cfg.days)
        out: list[EntityData] = []
        for type_name in self.cfg.types:
            params = {
                "type": type_name,
                "timerel": "after",
                "timeAt": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lastN": cfg.last_n,
            }
            offset = 0
            while True:
                page = await ldclient.temporal_entities(
                    self.endpoint, self.ld_target, params, limit=cfg.page_size, offset=offset
                )
                out += [from_ld_temporal(e, self.cfg.attributes) for e in page.entities]
                if len(page.entities) < cfg.page_size:
                    break
                offset += cfg.page_size
        return out
