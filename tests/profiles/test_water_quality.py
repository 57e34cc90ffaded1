"""The water-quality profile: WISE determinand URIs, UCUM units (with `{NTU}` for
turbidity, which UCUM has no unit for), its examples each failing for its one reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "water-quality"
WISE = "http://dd.eionet.europa.eu/vocabulary/wise/ObservedProperty/"
# invalid example -> a phrase its (first) error message must contain
INVALID = {
    "conductivity-in-ms-per-cm": "$.unitOfMeasurement.definition: 'http://unitsofmeasure.org/ucum.html#uS/cm'",
    "turbidity-unit-not-ucum": "$.unitOfMeasurement.definition: 'http://unitsofmeasure.org/ucum.html#{NTU}'",
    "definition-smart-data-models-url": f"$.ObservedProperty.definition: '{WISE}EEA_3152-01-0'",
    "ph-out-of-range": "15.2 is greater than the maximum of 14",
    "result-as-string": "'7.84' is not of type 'number'",
    "missing-station-id": "$.Thing.properties: 'stationId' is a required property",
    "water-body-category-not-wise": "'groundwater' is not one of ['RW', 'LW', 'TW', 'CW', 'GW']",
    "air-quality-profile-declared": "$.properties.profile: 'water-quality' was expected",
    "air-temperature-definition": "is none of the profile's observed properties",
    "missing-observation-type": "'observationType' is a required property",
}


@pytest.fixture(scope="module")
def water() -> Profile:
    return profiles.get("water-quality")


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def test_the_profile_fixes_wise_definitions_and_ucum_units(water: Profile) -> None:
    spec = water.sensorthings
    assert water.kind == "sensorthings" and water.version == "1.0.0" and spec is not None
    units = {k: p.ucum for k, p in spec.observed_properties.items()}
    assert units == {
        "water_temperature": "Cel",
        "ph": "[pH]",
        "electrical_conductivity": "uS/cm",
        "dissolved_oxygen": "mg/L",
        "turbidity": "{NTU}",
        "nitrate": "mg/L",
    }
    codes = {k: p.definition.removeprefix(WISE) for k, p in spec.observed_properties.items()}
    assert codes == {
        "water_temperature": "EEA_3121-01-5",
        "ph": "EEA_3152-01-0",
        "electrical_conductivity": "EEA_3142-01-6",
        "dissolved_oxygen": "EEA_3132-01-2",
        "turbidity": "EEA_3112-01-4",
        "nitrate": "CAS_14797-55-8",
    }
    assert all(
        p.observation_type.endswith("OM_Measurement") for p in spec.observed_properties.values()
    )
    assert spec.thing_properties == ("stationId",)
    assert spec.datastream_properties == ("profile", "profileVersion")


def test_smart_data_models_attributes_find_their_property(water: Profile) -> None:
    """WaterQualityObserved.temperature is water temperature here, never in air-quality."""
    spec = water.sensorthings
    assert spec is not None
    found = {a: spec.by_attribute("WaterQualityObserved", a) for a in ("temperature", "O2", "NO3")}
    assert {a: p.key if p else None for a, p in found.items()} == {
        "temperature": "water_temperature",
        "O2": "dissolved_oxygen",
        "NO3": "nitrate",
    }
    assert spec.by_attribute("AirQualityObserved", "temperature") is None
    assert (
        spec.by_attribute("WaterQualityObserved", "conductance") is None
    )  # at 25 °C: another quantity
    air = profiles.get("air-quality").sensorthings
    assert air is not None and air.by_attribute("WaterQualityObserved", "temperature") is None


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_examples_validate(water: Profile, path: Path) -> None:
    assert water.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_message() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    valid = {p.stem for p in _examples("valid")}
    assert len(valid) >= 3 and any(v.startswith("federated") for v in valid)


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_one_reason(water: Profile, path: Path) -> None:
    problems = water.validate(json.loads(path.read_text(encoding="utf-8")))
    assert problems and INVALID[path.stem] in problems[0], problems


def test_plausible_ranges_flag_broken_values_not_water_quality(water: Profile) -> None:
    ops = water.sensorthings.observed_properties  # type: ignore[union-attr]
    assert ops["electrical_conductivity"].result_problem(52_000.0) is None  # seawater
    assert ops["nitrate"].result_problem(180.0) is None  # farmland groundwater
    assert "below the plausible minimum 0" in (ops["ph"].result_problem(-0.5) or "")
    assert "above the plausible maximum 25" in (ops["dissolved_oxygen"].result_problem(31) or "")
    assert "not of type number" in (ops["turbidity"].result_problem("12 NTU") or "")


def test_the_air_and_water_profiles_share_no_definition(water: Profile) -> None:
    """Air temperature and water temperature are two determinands, not one with two units."""
    air = profiles.get("air-quality").sensorthings
    assert air is not None and water.sensorthings is not None
    mine = {p.definition for p in water.sensorthings.observed_properties.values()}
    assert mine.isdisjoint(p.definition for p in air.observed_properties.values())
