"""The water-level profile: WMO WIGOS observed variables (water level, discharge), UCUM cm and
m3/s, schema.json in agreement with profile.yaml (the loader checks it), and its examples,
each invalid one failing for its one reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "water-level"
WMO = "http://codes.wmo.int/wmdr/ObservedVariableTerrestrial/"
UCUM = "http://unitsofmeasure.org/ucum.html#"
# invalid example -> a phrase its (first) error message must contain
INVALID = {
    "level-in-metres-not-converted": f"$.unitOfMeasurement.definition: '{UCUM}cm' was expected",
    "discharge-unit-not-ucum": f"$.unitOfMeasurement.definition: '{UCUM}m3/s' was expected",
    "definition-smart-data-models-url": f"$.ObservedProperty.definition: '{WMO}12252'",
    "missing-station-id": "$.Thing.properties: 'stationId' is a required property",
    "result-as-string": "'373 cm' is not of type 'number'",
    "result-out-of-range": "37300.0 is greater than the maximum of 5000",
    "other-profile-version": "$.properties.profileVersion: '1.0.0' was expected",
    "water-quality-profile-declared": "$.properties.profile: 'water-level' was expected",
    "water-body-category-not-wise": "'tidal river' is not one of ['RW', 'LW', 'TW', 'CW', 'GW']",
    "count-observation-type": "OM_Measurement' was expected",
}


@pytest.fixture(scope="module")
def level() -> Profile:
    return profiles.get("water-level")


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def test_the_profile_fixes_wmo_definitions_and_ucum_units(level: Profile) -> None:
    spec = level.sensorthings
    assert level.kind == "sensorthings" and level.version == "1.0.0" and spec is not None
    ops = spec.observed_properties
    assert {k: (p.ucum, p.definition.removeprefix(WMO)) for k, p in ops.items()} == {
        "water_level": ("cm", "12252"),
        "discharge": ("m3/s", "171"),
    }
    assert all(p.observation_type.endswith("OM_Measurement") for p in ops.values())
    assert spec.thing_properties == ("stationId",)
    assert spec.datastream_properties == ("profile", "profileVersion")


def test_water_observed_attributes_find_their_property(level: Profile) -> None:
    spec = level.sensorthings
    assert spec is not None
    assert spec.by_attribute("WaterObserved", "height").key == "water_level"  # type: ignore[union-attr]
    assert spec.by_attribute("WaterObserved", "flow").key == "discharge"  # type: ignore[union-attr]
    assert spec.by_attribute("WaterObserved", "swellHeight") is None


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_examples_validate(level: Profile, path: Path) -> None:
    assert level.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_message() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    valid = {p.stem for p in _examples("valid")}
    assert any(v.startswith("federated") for v in valid)
    assert any("rest" in v for v in valid) and any("ngsi" in v for v in valid)


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_one_reason(level: Profile, path: Path) -> None:
    problems = level.validate(json.loads(path.read_text(encoding="utf-8")))
    assert problems and INVALID[path.stem] in problems[0], problems


def test_plausible_ranges_flag_broken_values_not_floods(level: Profile) -> None:
    ops = level.sensorthings.observed_properties  # type: ignore[union-attr]
    assert ops["water_level"].result_problem(1020.0) is None  # Hamburg's storm flood of 1976
    assert ops["water_level"].result_problem(-35.0) is None  # datum above low water
    assert "above the plausible maximum" in (ops["water_level"].result_problem(123456) or "")
    assert "below the plausible minimum 0" in (ops["discharge"].result_problem(-3.0) or "")
