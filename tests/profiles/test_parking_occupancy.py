"""The parking-occupancy profile: Smart Data Models IRIs for free, occupied and total spaces
(integer counts in UCUM {spaces}) and occupancy (%), schema.json in agreement with
profile.yaml (the loader checks it), and its examples, each invalid one failing for its one
reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "parking-occupancy"
SDM = "https://smartdatamodels.org/dataModel.Parking/"
UCUM = "http://unitsofmeasure.org/ucum.html#"
INVALID = {
    "occupancy-as-ratio-not-converted": f"$.unitOfMeasurement.definition: '{UCUM}%' was expected",
    "count-as-measurement": "OM_CountObservation' was expected",
    "count-with-a-fraction": "187.5 is not of type 'integer'",
    "negative-free-spaces": "-3 is less than the minimum of 0",
    "occupancy-above-100-percent": "182.2 is greater than the maximum of 100",
    "spaces-in-pieces": f"'{UCUM}{{spaces}}' was expected",
    "definition-not-the-sdm-iri": f"'{SDM}availableSpotNumber' was expected",
    "missing-station-id": "$.Thing.properties: 'stationId' is a required property",
    "other-profile-version": "$.properties.profileVersion: '1.0.0' was expected",
}


@pytest.fixture(scope="module")
def parking() -> Profile:
    return profiles.get("parking-occupancy")


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def test_counts_are_integers_in_spaces_and_occupancy_a_percentage(parking: Profile) -> None:
    spec = parking.sensorthings
    assert parking.version == "1.0.0" and spec is not None
    ops = spec.observed_properties
    got = {k: (p.definition.removeprefix(SDM), p.ucum, p.result_type) for k, p in ops.items()}
    assert got == {
        "available_spots": ("availableSpotNumber", "{spaces}", "integer"),
        "occupied_spots": ("occupiedSpotNumber", "{spaces}", "integer"),
        "total_spots": ("totalSpotNumber", "{spaces}", "integer"),
        "occupancy": ("occupancy", "%", "number"),
    }
    assert ops["available_spots"].observation_type.endswith("OM_CountObservation")
    assert spec.by_attribute("OffStreetParking", "occupancy") is ops["occupancy"]


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_examples_validate(parking: Profile, path: Path) -> None:
    assert parking.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_message() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    valid = {p.stem for p in _examples("valid")}
    assert any(v.startswith("federated") for v in valid)
    assert any("rest" in v for v in valid) and any("ngsi" in v for v in valid)


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_one_reason(parking: Profile, path: Path) -> None:
    problems = parking.validate(json.loads(path.read_text(encoding="utf-8")))
    assert problems and INVALID[path.stem] in problems[0], problems
