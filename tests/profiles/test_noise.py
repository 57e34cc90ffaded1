"""The noise profile: Smart Data Models IRIs for LAeq, LAmax, LAS and LAeq,d, UCUM dB,
schema.json in agreement with profile.yaml (the loader checks it), and its examples, each
invalid one failing for its one reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "noise"
SDM = "https://smartdatamodels.org/dataModel.Environment/"
UCUM = "http://unitsofmeasure.org/ucum.html#"
INVALID = {
    "unit-dba-not-ucum": f"$.unitOfMeasurement.definition: '{UCUM}dB' was expected",
    "definition-qudt-quantity-kind": f"$.ObservedProperty.definition: '{SDM}LAeq' was expected",
    "laeq-named-lamax": "$.ObservedProperty.name: 'LAeq' was expected",
    "missing-station-id": "$.Thing.properties: 'stationId' is a required property",
    "result-as-string": "'74.6 dB(A)' is not of type 'number'",
    "result-out-of-range": "746.0 is greater than the maximum of 140",
    "other-profile-version": "$.properties.profileVersion: '1.0.0' was expected",
    "air-quality-profile-declared": "$.properties.profile: 'noise' was expected",
    "missing-observation-type": "'observationType' is a required property",
}


@pytest.fixture(scope="module")
def noise() -> Profile:
    return profiles.get("noise")


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def test_the_profile_fixes_the_indicators_in_decibel(noise: Profile) -> None:
    spec = noise.sensorthings
    assert noise.kind == "sensorthings" and noise.version == "1.0.0" and spec is not None
    ops = spec.observed_properties
    assert {k: (p.name, p.definition.removeprefix(SDM), p.ucum) for k, p in ops.items()} == {
        "laeq": ("LAeq", "LAeq", "dB"),
        "lamax": ("LAmax", "LAmax", "dB"),
        "las": ("LAS", "LAS", "dB"),
        "laeq_d": ("LAeq,d", "LAeq_d", "dB"),
    }
    assert spec.thing_properties == ("stationId",)
    for attribute in ("LAeq", "LAmax", "LAS", "LAeq_d"):
        assert spec.by_attribute("NoiseLevelObserved", attribute) is not None


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_examples_validate(noise: Profile, path: Path) -> None:
    assert noise.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_message() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    valid = {p.stem for p in _examples("valid")}
    assert any(v.startswith("federated") for v in valid)
    assert any("rest" in v for v in valid) and any("ngsi" in v for v in valid)


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_one_reason(noise: Profile, path: Path) -> None:
    problems = noise.validate(json.loads(path.read_text(encoding="utf-8")))
    assert problems and INVALID[path.stem] in problems[0], problems
