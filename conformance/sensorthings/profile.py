"""SensorThings profile conformance (`--profile air-quality` against a SensorThings service
root): every Datastream of the profile holds to it.

A Datastream *of the profile* is one whose ObservedProperty definition is one of the
profile's, or one that declares the profile (`properties.profile`). They are read once, with
`$expand=Thing,ObservedProperty,Sensor,Observations($orderby=phenomenonTime desc;$top=N)`,
and each rule is its own check, so a report names exactly what is off:

- observed-property: name and definition URI are the profile's (a Datastream declaring the
  profile with an ObservedProperty it does not know fails here);
- unit: unitOfMeasurement symbol and definition are the profile's UCUM unit;
- observation-type: observationType is the one of the profile's result type;
- results: the latest Observations' results have that type and lie in the plausible range;
- required-properties: the Thing's and the Datastream's required `properties` keys are there;
- version: a Datastream declaring the profile declares the version the suite checks;
- schema: the expanded Datastream validates against the profile's schema.json.

Requirements are named after the profile and its version (`profile:air-quality@1.0.0/unit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.context import HOOKS, Problems, SuiteHooks, Test
from conformance.model import Blocked, CheckSkipped, Requirement, RequirementClass
from conformance.registry import check
from conformance.sensorthings import api

SUITE = "sensorthings-profile"
LATEST = 5  # Observations per Datastream whose results are checked
BASIC = "Thing,ObservedProperty,Sensor"
EXPAND = f"{BASIC},Observations($orderby=phenomenonTime desc;$top={LATEST})"


@dataclass(frozen=True)
class Stream:
    """One Datastream of the profile, expanded, with the observed property it claims."""

    entity: dict[str, Any]
    spec: Any  # profiles.ObservedPropertySpec, or None: declares the profile, unknown property

    @property
    def label(self) -> str:
        return f"Datastream {self.entity.get('@iot.id')!r} ({self.entity.get('name')!r})"

    def part(self, name: str) -> dict[str, Any]:
        value = self.entity.get(name)
        return value if isinstance(value, dict) else {}


def _profile(t: Test) -> Any:
    """The profile (a sensorthings one), and this test's requirement named after it."""
    import profiles

    if not t.ctx.options.profile:
        raise CheckSkipped("no profile given (--profile)")
    profile = profiles.get(t.ctx.options.profile)
    if profile.sensorthings is None:
        raise CheckSkipped(f"{profile.id} is a {profile.kind} profile, not a SensorThings one")
    generic = t.check.requirement
    rule = generic.id.rsplit("/", 1)[-1]
    cls = RequirementClass(f"Profile {profile.id} {profile.version}", "", str(profile.path))
    spec = profile.path / ("schema.json" if rule == "schema" else "profile.yaml")
    t.requirement = Requirement(
        f"profile:{profile.id}@{profile.version}/{rule}", generic.title, cls, str(spec)
    )
    return profile


async def _streams(t: Test, profile: Any) -> list[Stream]:
    """The profile's Datastreams (read once per run); skipped when there are none."""
    url = api.set_url(t, "Datastreams")
    try:
        got = await api.listing(t, url, {"$expand": EXPAND})
    except Blocked:  # nested $expand options refused: results are read per Datastream
        got = await api.listing(t, url, {"$expand": BASIC})
    entities = api.complete(got, "Datastreams", t.ctx.options.max_items)
    found = []
    for entity in entities:
        op = entity.get("ObservedProperty")
        spec = (
            profile.sensorthings.by_definition(op.get("definition"))
            if isinstance(op, dict)
            else None
        )
        props = entity.get("properties")
        declared = isinstance(props, dict) and props.get("profile") == profile.id
        if spec is not None or declared:
            found.append(Stream(entity, spec))
    if not found:
        raise CheckSkipped(
            f"no Datastream of {profile.id}: none of {len(entities)} declares it or has one "
            "of its ObservedProperty definitions"
        )
    return found


def _requirement(rule: str, title: str) -> Requirement:
    cls = RequirementClass("SensorThings profile conformance", "", "profiles/<id>/profile.yaml")
    return Requirement(f"profile:<id>/{rule}", title, cls, "profiles/<id>/profile.yaml")


def _done(found: Problems, streams: list[Stream], what: str) -> str:
    found.raise_if_any(f"{len(found.items)} problem(s) in {len(streams)} Datastreams")
    return f"{len(streams)} Datastreams: {what}"


OBSERVED = _requirement(
    "observed-property", "The ObservedProperty SHALL have the profile's name and definition"
)


@check(
    OBSERVED,
    "sta-profile/observed-property",
    "ObservedProperty name and definition URI",
    suite=SUITE,
)
async def observed_property(t: Test) -> str:
    profile = _profile(t)
    streams = await _streams(t, profile)
    found = Problems()
    for s in streams:
        op = s.part("ObservedProperty")
        if s.spec is None:
            keys = ", ".join(profile.sensorthings.observed_properties)
            found.add(
                f"{s.label} declares {profile.id} but its ObservedProperty "
                f"{op.get('name')!r} ({op.get('definition')!r}) is none of {keys}"
            )
        elif op.get("name") != s.spec.name:
            found.add(
                f"{s.label}: ObservedProperty name {op.get('name')!r}, expected {s.spec.name!r}"
            )
    return _done(found, streams, "each ObservedProperty is one of the profile's")


UNIT = _requirement("unit", "unitOfMeasurement SHALL be the profile's UCUM unit")


@check(UNIT, "sta-profile/unit", "unitOfMeasurement is the profile's UCUM unit", suite=SUITE)
async def unit(t: Test) -> str:
    profile = _profile(t)
    streams = await _streams(t, profile)
    found = Problems()
    for s in (s for s in streams if s.spec is not None):
        uom = s.part("unitOfMeasurement")
        for key in ("symbol", "definition"):
            found.check(
                uom.get(key) == s.spec.unit[key],
                f"{s.label} ({s.spec.key}): unit {key} {uom.get(key)!r}, "
                f"expected {s.spec.unit[key]!r}",
            )
    return _done(found, streams, "units are the profile's UCUM units")


OBSERVATION_TYPE = _requirement(
    "observation-type", "observationType SHALL match the profile's result type"
)


@check(
    OBSERVATION_TYPE,
    "sta-profile/observation-type",
    "observationType matches the result type",
    suite=SUITE,
)
async def observation_type(t: Test) -> str:
    profile = _profile(t)
    streams = await _streams(t, profile)
    found = Problems()
    for s in (s for s in streams if s.spec is not None):
        got = s.entity.get("observationType")
        found.check(
            got == s.spec.observation_type,
            f"{s.label}: observationType {got!r}; {s.spec.key} results are "
            f"{s.spec.result_type}, so {s.spec.observation_type}",
        )
    return _done(found, streams, "observationTypes match the result types")


RESULTS = _requirement(
    "results", "Results SHALL have the profile's result type and lie in its plausible range"
)


async def _latest(t: Test, s: Stream) -> list[dict[str, Any]]:
    """The Datastream's latest Observations: expanded, else read (a server that ignores
    nested $expand options is no reason to leave results unchecked)."""
    expanded = s.entity.get("Observations")
    if isinstance(expanded, list):
        return [o for o in expanded if isinstance(o, dict)][:LATEST]
    url = api.entity_url(t, "Datastreams", s.entity.get("@iot.id")) + "/Observations"
    params = {"$orderby": "phenomenonTime desc", "$top": str(LATEST)}
    got = await t.get(url, params=params, accept=api.JSON)
    if got.status != 200:
        raise Blocked(f"not tested: GET {got.url} answered {got.status}")
    return api.value_of(got)[:LATEST]


@check(RESULTS, "sta-profile/results", "latest results: type and plausible range", suite=SUITE)
async def results(t: Test) -> str:
    profile = _profile(t)
    streams = await _streams(t, profile)
    found, seen = Problems(), 0
    for s in (s for s in streams if s.spec is not None):
        for o in await _latest(t, s):
            seen += 1
            problem = s.spec.result_problem(o.get("result"))
            found.check(problem is None, f"{s.label} ({s.spec.key}): {problem}")
    return _done(found, streams, f"{seen} latest results of the right type and in range")


REQUIRED = _requirement(
    "required-properties", "Things and Datastreams SHALL carry the profile's required properties"
)


@check(
    REQUIRED,
    "sta-profile/required-properties",
    "required Thing and Datastream properties",
    suite=SUITE,
)
async def required_properties(t: Test) -> str:
    profile = _profile(t)
    spec = profile.sensorthings
    streams = await _streams(t, profile)
    found = Problems()
    for s in streams:
        thing = s.entity.get("Thing")
        if not found.check(isinstance(thing, dict), f"{s.label}: Thing not expanded"):
            continue
        for where, props, keys in (
            ("Thing", thing.get("properties"), spec.thing_properties),
            ("Datastream", s.entity.get("properties"), spec.datastream_properties),
        ):
            props = props if isinstance(props, dict) else {}
            missing = [k for k in keys if props.get(k) in (None, "")]
            found.check(not missing, f"{s.label}: {where} properties lack {', '.join(missing)}")
    return _done(found, streams, "required properties present")


VERSION = _requirement(
    "version", "A Datastream declaring the profile SHALL declare the version checked against"
)


@check(
    VERSION, "sta-profile/version", "the declared profile version is the one checked", suite=SUITE
)
async def version(t: Test) -> str:
    profile = _profile(t)
    streams = await _streams(t, profile)
    found, declared = Problems(), 0
    for s in streams:
        props = s.part("properties")
        if props.get("profile") != profile.id:
            continue  # no declaration: required-properties reports it
        declared += 1
        found.check(
            props.get("profileVersion") == profile.version,
            f"{s.label} declares {profile.id} {props.get('profileVersion')!r}; "
            f"this suite checks {profile.version}",
        )
    return _done(found, streams, f"{declared} declare {profile.id} {profile.version}")


SCHEMA = _requirement("schema", "Every Datastream SHALL validate against the profile's schema")


@check(SCHEMA, "sta-profile/schema", "every Datastream validates against schema.json", suite=SUITE)
async def schema(t: Test) -> str:
    profile = _profile(t)
    streams = await _streams(t, profile)
    found = Problems(limit=8)
    for s in streams:
        problems = profile.validate(s.entity)
        found.check(not problems, f"{s.label}: {problems[0] if problems else ''}")
    return _done(found, streams, f"valid {profile.id} {profile.version}")


async def _subjects(t: Test) -> list[str]:
    return []  # every check looks at all of the profile's Datastreams at once


HOOKS[SUITE] = SuiteHooks(declared=api.declared, subjects=_subjects, matches=api.matches)
