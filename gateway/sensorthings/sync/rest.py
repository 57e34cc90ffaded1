"""Reading a `rest` sync source (restconfig.py): its stations and their new values, as the
same EntityData the NGSI sync hands to upsert.py, so that profile, unit conversion and
storage are one mechanism for both.

A poll reads the stations list, then per station and observed property either the value
in the station itself (its current value) or a time-series request, asking with
`since_param` only for what is newer than the latest value read (the first poll reads
`history_hours`). What is read twice is stored once (upsert.py keys Observations by
Datastream and phenomenonTime). A station whose series cannot be read, a value that is no
number, a time that is no time: logged and counted (twinbridge_data_quality_total), the
other stations go on. A stations list that cannot be read fails the run, which the
scheduler logs, counts and retries with backoff.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from connectors.errors import SourceError
from connectors.remote.http import HttpEndpoint
from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.sync.ngsimap import EntityData, Reading
from gateway.sensorthings.sync.restconfig import RestReading, RestSync
from gateway.sensorthings.timefmt import iso, parse_time

log = logging.getLogger("twinbridge.sensorthings.sync")
MISSING = object()


def at(doc: Any, path: str) -> Any:
    """The value at a dotted path (numbers index lists); MISSING where there is none."""
    node = doc
    for step in path.split(".") if path else ():
        if isinstance(node, dict):
            node = node.get(step, MISSING)
        elif isinstance(node, list) and step.lstrip("-").isdigit():
            index = int(step)
            node = node[index] if -len(node) <= index < len(node) else MISSING
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def number(value: Any) -> float | None:
    """A finite number, from a JSON number or a numeric string ("123", "12,5" too)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def instant(value: Any) -> tuple[int, int] | None:
    """An ISO 8601 time (or interval) or seconds/milliseconds since 1970, as microseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        us = int(round(seconds * 1_000_000))
        return us, us
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_time(value.strip(), "time")
    except InvalidBody:
        return None


class ApiError(SourceError):
    """The API answered something the source cannot use (status, not JSON, no list)."""


class RestSource:
    """One configured REST API of one tenant: its endpoint and where each series stands."""

    def __init__(self, tenant: str, cfg: RestSync) -> None:
        self.tenant = tenant
        self.cfg = cfg
        self.label = f"{tenant}/{cfg.name}"
        self.endpoint = HttpEndpoint(cfg.url, cfg, name=f"sync {self.label}")
        self.profile = cfg.profile_binding()
        self.headers = cfg.auth()
        self.latest: dict[tuple[str, str], int] = {}  # (station, key) -> newest time stored
        self.read: dict[tuple[str, str], int] = {}  # ... newest time read by the last poll
        self._answers: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}  # this poll's

    async def open(self) -> None:
        if not self.endpoint.is_open:
            await self.endpoint.open()

    async def close(self) -> None:
        await self.endpoint.close()

    async def history(self) -> list[EntityData]:
        """A rest source's first poll reads its history; nothing more to do here."""
        return []

    async def _json(self, path: str, query: dict[str, str] | None = None) -> Any:
        url = f"{self.endpoint.base}/{path.lstrip('/')}"
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        answer = await self.endpoint.get(url, self.headers)
        if not 200 <= answer.status < 300:
            raise ApiError(f"{self.endpoint.name}: {path.split('?')[0]} answered {answer.status}")
        try:
            return orjson.loads(answer.content)
        except orjson.JSONDecodeError:
            raise ApiError(f"{self.endpoint.name}: {path.split('?')[0]} is not JSON") from None

    async def _series(self, path: str, query: dict[str, str]) -> Any:
        """One request per series URL and poll: readings sharing a request (LAeq and LAmax
        of one monitor's measurements) share its answer."""
        key = (path, tuple(sorted(query.items())))
        if key not in self._answers:
            try:
                self._answers[key] = await self._json(path, query)
            except SourceError as e:
                self._answers[key] = e
        answer = self._answers[key]
        if isinstance(answer, SourceError):
            raise answer
        return answer

    async def poll(self, now: datetime | None = None) -> list[EntityData]:
        """Every station with the values it has that the store may not hold yet."""
        await self.open()
        self.read = {}
        self._answers = {}
        spec = self.cfg.stations
        doc = await self._json(spec.path)
        items = at(doc, spec.items)
        if not isinstance(items, list):
            raise ApiError(f"{self.endpoint.name}: no list of stations at '{spec.items}'")
        out = []
        for item in items:
            entity = self._station(item)
            if entity is None:
                continue
            for key, reading in self.cfg.readings.items():
                await self._readings(entity, key, reading, item, now or datetime.now(UTC))
            out.append(entity)
        return out

    def _station(self, item: Any) -> EntityData | None:
        spec = self.cfg.stations
        sid, name = at(item, spec.id), at(item, spec.name)
        if not isinstance(sid, str | int) or isinstance(sid, bool) or str(sid) == "":
            log.warning("sync %s: a station without an identifier at '%s'", self.label, spec.id)
            return None
        text = at(item, spec.description) if spec.description else MISSING
        entity = EntityData(
            str(sid),
            self.cfg.entity_type,
            name if isinstance(name, str) and name.strip() else str(sid),
            text if isinstance(text, str) else f"{self.cfg.entity_type} {sid}",
        )
        found = {k: at(item, path) for k, path in spec.properties.items()}
        entity.properties = {
            **spec.constants,
            **{k: v for k, v in found.items() if v is not MISSING and v is not None},
        }
        lon, lat = number(at(item, spec.lon)), number(at(item, spec.lat))
        if lon is not None and lat is not None and -180 <= lon <= 180 and -90 <= lat <= 90:
            entity.location = {"type": "Point", "coordinates": [lon, lat]}
        return entity

    async def _readings(
        self, entity: EntityData, key: str, spec: RestReading, item: Any, now: datetime
    ) -> None:
        if spec.path is None:
            self._add(entity, key, spec, item)
            return
        query: dict[str, str] = {}
        if spec.since_param:
            since = self.latest.get((entity.id, key))
            first = now - timedelta(hours=self.cfg.history_hours)
            query[spec.since_param] = iso(since) if since else first.strftime("%Y-%m-%dT%H:%M:%SZ")
        path = spec.path.replace("{id}", quote(entity.id, safe=""))
        try:
            series = at(await self._series(path, query), spec.items)
        except SourceError as e:  # one station's series: the others go on
            log.warning("sync %s: %s of %s not read: %s", self.label, key, entity.id, e)
            entity.left_out.append((key, "source"))
            return
        if not isinstance(series, list):
            entity.left_out.append((key, "source"))
            return
        for point in series:
            self._add(entity, key, spec, point)

    def _add(self, entity: EntityData, key: str, spec: RestReading, node: Any) -> None:
        raw = at(node, spec.value)
        if raw is MISSING or raw is None:
            return
        value = number(raw)
        if value is None:
            entity.left_out.append((key, "type"))
            return
        when = instant(at(node, spec.time))
        if when is None:
            entity.left_out.append((key, "time"))
            return
        unit = spec.unit or self._profile_unit(key)
        entity.readings.append(Reading(key, value, when[0], when[1], unit))
        mark = (entity.id, key)
        self.read[mark] = max(self.read.get(mark, when[0]), when[0])

    def commit(self) -> None:
        """What the last poll read is stored: the next asks only for what is newer. Until
        then a failed store makes the next poll read the same window again."""
        self.latest.update(self.read)
        self.read = {}

    def _profile_unit(self, key: str) -> str:
        spec = self.profile.profile.sensorthings
        assert spec is not None
        return spec.observed_properties[key].ucum
