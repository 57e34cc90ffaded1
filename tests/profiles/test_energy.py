"""The energy profile: direction-specific Smart Data Models definitions (consumed vs
produced), UCUM kW.h and kW, its examples each failing for its one reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "energy"
SDM = "https://smartdatamodels.org/dataModel.Energy/"
UCUM = "http://unitsofmeasure.org/ucum.html#"
# invalid example -> a phrase its (first) error message must contain
INVALID = {
    "energy-in-wh": f"$.unitOfMeasurement.definition: '{UCUM}kW.h'",
    "power-in-watt": f"$.unitOfMeasurement.definition: '{UCUM}kW'",
    "unit-kwh-not-ucum": f"$.unitOfMeasurement.definition: '{UCUM}kW.h'",
    "definition-obis-code": f"$.ObservedProperty.definition: '{SDM}totalActiveEnergyImport'",
    "negative-power": "-12.5 is less than the minimum of 0",
    "result-as-string": "'61870.2 kWh' is not of type 'number'",
    "missing-station-id": "$.Thing.properties: 'stationId' is a required property",
    "air-quality-profile-declared": "$.properties.profile: 'energy' was expected",
    "other-profile-version": "$.properties.profileVersion: '1.0.0' was expected",
    "count-observation-type": "OM_Measurement' was expected",
}


@pytest.fixture(scope="module")
def energy() -> Profile:
    return profiles.get("energy")


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def test_the_profile_fixes_direction_specific_definitions_and_ucum_units(energy: Profile):
    spec = energy.sensorthings
    assert energy.kind == "sensorthings" and energy.version == "1.0.0" and spec is not None
    got = {k: (p.definition.removeprefix(SDM), p.ucum) for k, p in spec.observed_properties.items()}
    assert got == {
        "active_energy_import": ("totalActiveEnergyImport", "kW.h"),
        "active_energy_export": ("totalActiveEnergyExport", "kW.h"),
        "active_power": ("totalActivePower", "kW"),
    }
    assert all(
        p.observation_type.endswith("OM_Measurement") for p in spec.observed_properties.values()
    )
    assert spec.thing_properties == ("stationId",)
    assert spec.datastream_properties == ("profile", "profileVersion")


def test_acmeasurement_totals_find_their_property_and_per_phase_objects_do_not(energy: Profile):
    spec = energy.sensorthings
    assert spec is not None
    for model in ("ACMeasurement", "ThreePhaseAcMeasurement"):
        found = spec.by_attribute(model, "totalActiveEnergyExport")
        assert found is not None and found.key == "active_energy_export"
    assert spec.by_attribute("ACMeasurement", "activeEnergyImport") is None  # L1, L2, L3
    assert spec.by_attribute("ACMeasurement", "totalReactivePower") is None


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_examples_validate(energy: Profile, path: Path) -> None:
    assert energy.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_message() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    valid = {p.stem for p in _examples("valid")}
    assert len(valid) >= 3 and any(v.startswith("federated") for v in valid)


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_one_reason(energy: Profile, path: Path) -> None:
    problems = energy.validate(json.loads(path.read_text(encoding="utf-8")))
    assert problems and INVALID[path.stem] in problems[0], problems


def test_plausible_ranges_flag_broken_values(energy: Profile) -> None:
    ops = energy.sensorthings.observed_properties  # type: ignore[union-attr]
    assert ops["active_energy_import"].result_problem(4_182_537.5) is None  # a big register
    assert ops["active_power"].result_problem(0.0) is None  # a building at rest
    assert "below the plausible minimum 0" in (ops["active_power"].result_problem(-3) or "")
    assert "not of type number" in (ops["active_energy_export"].result_problem("12") or "")
