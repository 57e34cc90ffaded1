"""The streaming data-quality computation: fed one feature at a time, it keeps counters
only (memory stays flat however many features pass), and reports plain figures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from gateway.quality.geometry import GeometryProblem, geometry_problem
from gateway.quality.ids import BoundedIds
from gateway.quality.rules import delivered_properties, property_rules, temporal_property
from profiles import Profile

Feature = dict[str, Any]
EXAMPLES = 5  # problem examples kept per kind, for a reader to look up


def parse_instant(value: Any) -> datetime | None:
    """An RFC 3339 date or date-time as an aware datetime (UTC when it names no offset)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


class QualityAccumulator:
    """Figures for one collection against one profile. `now` is injectable for tests;
    `max_ids` bounds the memory of the duplicate-id check (see BoundedIds)."""

    def __init__(
        self,
        profile: Profile,
        *,
        max_ids: int = 200_000,
        time_property: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.profile = profile
        self.now = now
        self.names = delivered_properties(profile)
        self.rules = property_rules(profile)
        self.time_property = time_property or temporal_property(profile)
        self.items = 0
        self.valid = 0
        self.present = dict.fromkeys(self.names, 0)
        self.out_of_range = {n: 0 for n, r in self.rules.items() if r.has_range}
        self.outside_codes = {n: 0 for n, r in self.rules.items() if r.codes is not None}
        self.geometry = {p.value: 0 for p in GeometryProblem}
        self.ids = BoundedIds(max_ids)
        self.newest: datetime | None = None
        self.unreadable_times = 0
        self.examples: dict[str, list[dict[str, Any]]] = {"schema": [], "geometry": []}

    def add_many(self, features: Iterable[Feature]) -> None:
        for feature in features:
            self.add(feature)

    def add(self, feature: Feature) -> None:
        self.items += 1
        fid = feature.get("id") if isinstance(feature, dict) else None
        self.ids.add(fid)
        self._schema(feature, fid)
        if not isinstance(feature, dict):
            return
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}
        self._values(props)
        self._geometry(feature.get("geometry"), fid)
        self._time(props.get(self.time_property) if self.time_property else None)

    def _schema(self, feature: Any, fid: Any) -> None:
        validator = self.profile.validator
        if validator.is_valid(feature):
            self.valid += 1
        elif len(self.examples["schema"]) < EXAMPLES:
            problems = self.profile.validate(feature)
            self.examples["schema"].append({"id": fid, "problem": problems[0][:300]})

    def _values(self, props: dict[str, Any]) -> None:
        present = self.present
        for name in self.names:
            if props.get(name) is not None:
                present[name] += 1
        for name, rule in self.rules.items():
            value = props.get(name)
            if value is None:
                continue
            if name in self.out_of_range and rule.out_of_range(value):
                self.out_of_range[name] += 1
            if name in self.outside_codes and rule.outside_codes(value):
                self.outside_codes[name] += 1

    def _geometry(self, geometry: Any, fid: Any) -> None:
        if self.profile.geometry_type is None and geometry is None:
            return  # a profile without geometry misses nothing
        problem, why = geometry_problem(geometry)
        if problem is None:
            return
        self.geometry[problem.value] += 1
        if problem is not GeometryProblem.MISSING and len(self.examples["geometry"]) < EXAMPLES:
            self.examples["geometry"].append({"id": fid, "problem": why})

    def _time(self, value: Any) -> None:
        if value is None:
            return
        moment = parse_instant(value)
        if moment is None:
            self.unreadable_times += 1
        elif self.newest is None or moment > self.newest:
            self.newest = moment

    def report(self) -> dict[str, Any]:
        """The figures as plain JSON-able values; shares are 0..1, None with no items."""
        n = self.items
        staleness = None
        if self.newest is not None:
            staleness = round((self.now() - self.newest).total_seconds(), 3)
        return {
            "profile": {"id": self.profile.id, "version": self.profile.version},
            "items": n,
            "valid": {"count": self.valid, "share": _share(self.valid, n)},
            "completeness": {name: _share(k, n) for name, k in self.present.items()},
            "geometry": dict(self.geometry),
            "out_of_range": dict(self.out_of_range),
            "outside_code_list": dict(self.outside_codes),
            "ids": self.ids.report(),
            "freshness": {
                "property": self.time_property,
                "newest": self.newest.isoformat() if self.newest else None,
                "staleness_seconds": staleness,
                "unreadable": self.unreadable_times,
            },
            "examples": {kind: list(found) for kind, found in self.examples.items()},
        }
