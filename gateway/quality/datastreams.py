"""Data quality of a SensorThings profile's Datastreams, computed while they stream past.

Each Datastream arrives expanded (Thing with its Locations, ObservedProperty, Sensor and
its latest Observations, newest first). The report has the Features report's shape where
the figures mean the same, so the catalog, its gauges and the quality reports show both:

- `items`/`valid`: Datastreams, and those valid against the profile's schema;
- `completeness`: per required `Thing/<key>` and `Datastream/<key>` property;
- `geometry`: Things without a Location (missing) or with an empty or invalid one;
- `out_of_range`: recent results outside the plausible range, per observed property;
- `outside_code_list`: Datastreams whose ObservedProperty, unit or observationType is not
  the profile's (its code lists, in effect);
- `ids`: duplicate Datastream `@iot.id`s; `names`: duplicate Datastream names;
- `freshness`: the newest phenomenonTime, and Datastreams staler than a threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from gateway.quality.accumulator import EXAMPLES, parse_instant
from gateway.quality.geometry import GeometryProblem, geometry_problem
from gateway.quality.ids import BoundedIds
from profiles import ObservedPropertySpec, Profile

Entity = dict[str, Any]
CODES = ("ObservedProperty", "unitOfMeasurement", "observationType")


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def _part(entity: Entity, name: str) -> Entity:
    value = entity.get(name)
    return value if isinstance(value, dict) else {}


def phenomenon_end(phenomenon_time: Any) -> datetime | None:
    """The end of a phenomenonTime (an instant or an interval `start/end`)."""
    return parse_instant(str(phenomenon_time or "").split("/")[-1])


class DatastreamAccumulator:
    """Figures for one SensorThings dataset against one sensorthings profile. `window`
    bounds the Observations read per Datastream; `stale_seconds` is how old a
    Datastream's newest Observation may be before it counts as stale."""

    def __init__(
        self,
        profile: Profile,
        *,
        window: int = 100,
        stale_seconds: float = 86400,
        max_ids: int = 200_000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if profile.sensorthings is None:
            raise ValueError(f"{profile.id} is a {profile.kind} profile, not a SensorThings one")
        self.profile = profile
        self.spec = profile.sensorthings
        self.window = window
        self.stale_seconds = stale_seconds
        self.now = now
        self.items = 0
        self.valid = 0
        self.required = [("Thing", k) for k in self.spec.thing_properties] + [
            ("Datastream", k) for k in self.spec.datastream_properties
        ]
        self.present = {f"{where}/{key}": 0 for where, key in self.required}
        self.codes = dict.fromkeys(CODES, 0)
        keys = list(self.spec.observed_properties)
        self.out_of_range = dict.fromkeys(keys, 0)
        self.wrong_type = dict.fromkeys(keys, 0)
        self.results = 0
        self.max_things = max_ids
        self.things: set[int] = set()  # hashes of the Things counted (bounded, as ids are)
        self.thing_count = 0
        self.geometry = {p.value: 0 for p in GeometryProblem}
        self.ids = BoundedIds(max_ids)
        self.names = BoundedIds(max_ids)
        self.newest: datetime | None = None
        self.stale = 0
        self.silent = 0  # Datastreams without any Observation
        self.examples: dict[str, list[dict[str, Any]]] = {
            "schema": [],
            "code_list": [],
            "results": [],
            "location": [],
            "required": [],
        }

    def add_many(self, datastreams: Iterable[Entity]) -> None:
        for datastream in datastreams:
            self.add(datastream)

    def add(self, ds: Entity) -> None:
        self.items += 1
        sid = ds.get("@iot.id")
        self.ids.add(sid)
        self.names.add(ds.get("name"))
        self._schema(ds, sid)
        self._required(ds, sid)
        spec = self._codes(ds, sid)
        observations = [o for o in ds.get("Observations") or () if isinstance(o, dict)]
        observations = observations[: self.window]
        if spec is not None:
            self._results(observations, spec, sid)
        self._freshness(observations)
        self._thing(_part(ds, "Thing"), sid)

    def _example(self, kind: str, sid: Any, problem: str) -> None:
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append({"id": sid, "problem": problem[:300]})

    def _schema(self, ds: Entity, sid: Any) -> None:
        # The Observations window is ours, not the Datastream's: validate without it.
        shown = {k: v for k, v in ds.items() if k != "Observations"}
        if self.profile.validator.is_valid(shown):
            self.valid += 1
        else:
            self._example("schema", sid, self.profile.validate(shown)[0])

    def _required(self, ds: Entity, sid: Any) -> None:
        parts = {
            "Thing": _part(_part(ds, "Thing"), "properties"),
            "Datastream": _part(ds, "properties"),
        }
        missing = []
        for where, key in self.required:
            if parts[where].get(key) not in (None, ""):
                self.present[f"{where}/{key}"] += 1
            else:
                missing.append(f"{where}/{key}")
        if missing:
            self._example("required", sid, f"lacks {', '.join(missing)}")

    def _codes(self, ds: Entity, sid: Any) -> ObservedPropertySpec | None:
        """The observed property the Datastream stands for (by definition), after counting
        what of its ObservedProperty, unit and observationType is not the profile's."""
        op = _part(ds, "ObservedProperty")
        spec = self.spec.by_definition(op.get("definition"))
        if spec is None or op.get("name") != spec.name:
            self.codes["ObservedProperty"] += 1
            self._example(
                "code_list", sid, f"ObservedProperty {op.get('name')!r} {op.get('definition')!r}"
            )
        if spec is None:
            return None
        uom = _part(ds, "unitOfMeasurement")
        if any(uom.get(k) != spec.unit[k] for k in ("symbol", "definition")):
            self.codes["unitOfMeasurement"] += 1
            self._example("code_list", sid, f"unit {uom.get('symbol')!r}, not {spec.ucum!r}")
        if ds.get("observationType") != spec.observation_type:
            self.codes["observationType"] += 1
            self._example("code_list", sid, f"observationType {ds.get('observationType')!r}")
        return spec

    def _results(self, observations: list[Entity], spec: ObservedPropertySpec, sid: Any) -> None:
        for o in observations:
            self.results += 1
            problem = spec.result_problem(o.get("result"))
            if problem is None:
                continue
            if problem.endswith(f"type {spec.result_type}"):
                self.wrong_type[spec.key] += 1
            else:
                self.out_of_range[spec.key] += 1
            self._example("results", sid, problem)

    def _freshness(self, observations: list[Entity]) -> None:
        times = [t for t in (phenomenon_end(o.get("phenomenonTime")) for o in observations) if t]
        if not times:
            self.silent += 1
            return
        latest = max(times)
        if self.newest is None or latest > self.newest:
            self.newest = latest
        if (self.now() - latest).total_seconds() > self.stale_seconds:
            self.stale += 1

    def _thing(self, thing: Entity, sid: Any) -> None:
        """Each Thing once: its Locations' geometry (the STA analogue of a feature's)."""
        key = hash(str(thing.get("@iot.id", f"datastream:{sid}")))
        if key in self.things:
            return
        if len(self.things) < self.max_things:  # beyond: a Thing may be counted twice
            self.things.add(key)
        self.thing_count += 1
        locations = [x for x in thing.get("Locations") or () if isinstance(x, dict)]
        if not locations:
            self.geometry[GeometryProblem.MISSING.value] += 1
            self._example("location", sid, f"Thing {thing.get('@iot.id')!r} has no Location")
            return
        for location in locations:
            problem, why = geometry_problem(location.get("location"))
            if problem is not None:
                self.geometry[problem.value] += 1
                self._example("location", sid, f"Thing {thing.get('@iot.id')!r}: {why}")
                return

    def report(self) -> dict[str, Any]:
        """Plain JSON-able figures; shares are 0..1, None with no Datastreams."""
        n = self.items
        staleness = None
        if self.newest is not None:
            staleness = round((self.now() - self.newest).total_seconds(), 3)
        implausible = sum(self.out_of_range.values()) + sum(self.wrong_type.values())
        return {
            "profile": {"id": self.profile.id, "version": self.profile.version},
            "kind": "sensorthings",
            "items": n,
            "valid": {"count": self.valid, "share": _share(self.valid, n)},
            "completeness": {name: _share(k, n) for name, k in self.present.items()},
            "geometry": dict(self.geometry),
            "things": self.thing_count,
            "out_of_range": dict(self.out_of_range),
            "outside_code_list": dict(self.codes),
            "wrong_result_type": dict(self.wrong_type),
            "observations": {
                "window": self.window,
                "checked": self.results,
                "implausible": implausible,
                "implausible_share": _share(implausible, self.results),
            },
            "ids": self.ids.report(),
            "names": {"duplicates": self.names.duplicates, "missing": self.names.missing},
            "freshness": {
                "property": "phenomenonTime",
                "newest": self.newest.isoformat() if self.newest else None,
                "staleness_seconds": staleness,
                "unreadable": 0,
                "stale_after_seconds": self.stale_seconds,
                "stale_datastreams": self.stale,
                "without_observations": self.silent,
            },
            "examples": {kind: list(found) for kind, found in self.examples.items()},
        }
