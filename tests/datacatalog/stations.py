"""SensorThings Things built from a sensorthings profile: a station that holds to it, and
a deliberately bad one (wrong unit, implausible results, no required property, no
Location), for any profile."""

from __future__ import annotations

from typing import Any

from profiles import ObservedPropertySpec, Profile

# Given explicitly: a Thing without a Location has none to derive it from.
FOI = {
    "name": "here",
    "description": "here",
    "encodingType": "application/geo+json",
    "feature": {"type": "Point", "coordinates": [4.47, 51.92]},
}
SENSOR = {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "s"}


def datastream(
    profile: Profile,
    spec: ObservedPropertySpec,
    results: list[Any],
    times: list[str],
    **change: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": f"{change.pop('station', 'good')} {spec.key}",
        "description": spec.description or spec.name,
        "observationType": spec.observation_type,
        "unitOfMeasurement": dict(spec.unit),
        "properties": {"profile": profile.id, "profileVersion": profile.version},
        "ObservedProperty": spec.observed_property(),
        "Sensor": SENSOR,
        "Observations": [
            {"phenomenonTime": t, "result": r, "FeatureOfInterest": FOI}
            for t, r in zip(times, results, strict=True)
        ],
    }
    doc.update(change)
    return doc


def plausible(spec: ObservedPropertySpec) -> Any:
    """A result of the spec's type inside its range."""
    if spec.result_type == "boolean":
        return True
    if spec.result_type == "string":
        return "ok"
    low = spec.minimum if spec.minimum is not None else 0
    high = spec.maximum if spec.maximum is not None else low + 10
    middle = (low + high) / 2
    return int(middle) if spec.result_type == "integer" else middle


def good_station(profile: Profile, times: list[str]) -> dict[str, Any]:
    assert profile.sensorthings is not None
    props = {k: "station-1" for k in profile.sensorthings.thing_properties}
    streams = [
        datastream(profile, spec, [plausible(spec)] * len(times), times)
        for spec in profile.sensorthings.observed_properties.values()
    ]
    return {
        "name": "good station",
        "description": "holds to the profile",
        "properties": props,
        "Locations": [
            {
                "name": "here",
                "description": "here",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [4.47, 51.92]},
            }
        ],
        "Datastreams": streams,
    }


def bad_station(profile: Profile, times: list[str]) -> dict[str, Any]:
    """One Datastream of the profile's first numeric property with a wrong unit, results
    below and above its range, and a Thing without the required properties or a Location."""
    assert profile.sensorthings is not None
    spec = next(
        s for s in profile.sensorthings.observed_properties.values() if s.maximum is not None
    )
    results = [spec.maximum * 10 + 1, (spec.minimum or 0) - 1000, plausible(spec)]
    times = times[:3]
    unit = {
        "name": "wrong",
        "symbol": "wrong",
        "definition": "http://unitsofmeasure.org/ucum.html#wrong",
    }
    stream = datastream(profile, spec, results, times, station="bad", unitOfMeasurement=unit)
    stream["properties"] = {"profile": profile.id}  # no profileVersion
    return {"name": "bad station", "description": "does not", "Datastreams": [stream]}


def other_station() -> dict[str, Any]:
    """A Thing whose Datastream is of no profile: neither declared nor a profile's
    definition."""
    stream = {
        "name": "other",
        "description": "other",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": "degree Celsius", "symbol": "Cel", "definition": "ucum"},
        "ObservedProperty": {"name": "t", "definition": "urn:t", "description": "t"},
        "Sensor": SENSOR,
        "Observations": [
            {"phenomenonTime": "2026-02-01T00:00:00Z", "result": 1.5, "FeatureOfInterest": FOI}
        ],
    }
    return {"name": "x", "description": "x", "Datastreams": [stream]}


def seed(
    client: Any, root: str, profile: Profile, times: list[str], headers: dict[str, str]
) -> None:
    """POST a good, a bad and an unprofiled station to the SensorThings root `root`."""
    for thing in (good_station(profile, times), bad_station(profile, times), other_station()):
        created = client.post(f"{root}/Things", json=thing, headers=headers)
        assert created.status_code == 201, created.text
