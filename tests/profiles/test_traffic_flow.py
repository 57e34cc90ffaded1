"""The traffic-flow profile: Smart Data Models TrafficFlowObserved definitions, counts as
integers (OM_CountObservation) in {vehicles}, km/h and percent, its examples each failing
for its one reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "traffic-flow"
SDM = "https://smartdatamodels.org/dataModel.Transportation/"
UCUM = "http://unitsofmeasure.org/ucum.html#"
# invalid example -> a phrase its (first) error message must contain
INVALID = {
    "occupancy-as-fraction": f"$.unitOfMeasurement.definition: '{UCUM}%'",
    "speed-in-metres-per-second": f"$.unitOfMeasurement.definition: '{UCUM}km/h'",
    "unit-veh-not-ucum": f"$.unitOfMeasurement.definition: '{UCUM}{{vehicles}}'",
    "count-as-fraction": "13.42 is not of type 'integer'",
    "count-as-measurement": "OM_CountObservation' was expected",
    "flow-rate-definition": f"$.ObservedProperty.definition: '{SDM}intensity'",
    "occupancy-over-100": "137.0 is greater than the maximum of 100",
    "speed-as-string": "'47.5 km/h' is not of type 'number'",
    "missing-station-id": "$.Thing.properties: 'stationId' is a required property",
    "energy-profile-declared": "$.properties.profile: 'traffic-flow' was expected",
}


@pytest.fixture(scope="module")
def traffic() -> Profile:
    return profiles.get("traffic-flow")


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def test_the_profile_fixes_definitions_units_and_count_results(traffic: Profile) -> None:
    spec = traffic.sensorthings
    assert traffic.kind == "sensorthings" and traffic.version == "1.0.0" and spec is not None
    got = {
        k: (p.definition.removeprefix(SDM), p.ucum, p.observation_type.rsplit("/", 1)[-1])
        for k, p in spec.observed_properties.items()
    }
    assert got == {
        "vehicle_count": ("intensity", "{vehicles}", "OM_CountObservation"),
        "average_speed": ("averageVehicleSpeed", "km/h", "OM_Measurement"),
        "occupancy": ("occupancy", "%", "OM_Measurement"),
    }
    assert spec.thing_properties == ("stationId",)
    assert spec.by_attribute("TrafficFlowObserved", "laneId") is None  # a lane, not a value


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_examples_validate(traffic: Profile, path: Path) -> None:
    assert traffic.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_message() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    valid = {p.stem for p in _examples("valid")}
    assert len(valid) >= 3 and any(v.startswith("federated") for v in valid)


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_one_reason(traffic: Profile, path: Path) -> None:
    problems = traffic.validate(json.loads(path.read_text(encoding="utf-8")))
    assert problems and INVALID[path.stem] in problems[0], problems


def test_counts_are_whole_numbers_and_occupancy_a_percentage(traffic: Profile) -> None:
    ops = traffic.sensorthings.observed_properties  # type: ignore[union-attr]
    assert ops["vehicle_count"].result_problem(412.0) is None  # a float that is whole
    assert "not of type integer" in (ops["vehicle_count"].result_problem(41.2) or "")
    assert "above the plausible maximum 100" in (ops["occupancy"].result_problem(101) or "")
    assert ops["occupancy"].result_problem(0.18) is None  # a fraction is in range: the unit tells
