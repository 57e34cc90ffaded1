"""The air-quality profile (the first `kind: sensorthings` profile): its examples, and the
loader's check that profile.yaml's observed properties and schema.json agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import profiles
from profiles import Profile, ProfileError

PROFILE_DIR = Path(profiles.__file__).parent / "air-quality"
# invalid example -> a phrase its (first) error message must contain
INVALID = {
    "unit-not-ucum": "$.unitOfMeasurement.symbol: 'ug/m3' was expected",
    "unit-ppb": "$.unitOfMeasurement.definition",
    "definition-smart-data-models-url": "$.ObservedProperty.definition: 'http://dd.eionet",
    "result-as-string": "'41.3' is not of type 'number'",
    "result-out-of-range": "-5.0 is less than the minimum of 0",
    "missing-station-id": "$.Thing.properties: 'stationId' is a required property",
    "other-profile-version": "$.properties.profileVersion: '1.0.0' was expected",
    "category-observation-type": "$.observationType: 'http://www.opengis.net/def/observation",
    "unknown-observed-property": "is none of the profile's observed properties",
    "missing-sensor": "'Sensor' is a required property",
}


@pytest.fixture(scope="module")
def air() -> Profile:
    return profiles.get("air-quality")


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def test_the_profile_fixes_definitions_ucum_units_and_result_types(air: Profile) -> None:
    spec = air.sensorthings
    assert air.kind == "sensorthings" and spec is not None
    assert {"no2", "pm10", "pm25", "o3", "temperature", "relative_humidity"} <= set(
        spec.observed_properties
    )
    no2 = spec.observed_properties["no2"]
    assert no2.definition == "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/8"
    assert no2.ucum == "ug/m3" and no2.unit["definition"].endswith("#ug/m3")
    assert no2.observation_type.endswith("OM_Measurement")
    assert spec.observed_properties["temperature"].ucum == "Cel"
    assert spec.observed_properties["relative_humidity"].ucum == "%"
    rh = spec.observed_properties["relative_humidity"]
    assert spec.by_attribute("AirQualityObserved", "relativeHumidity") is rh
    assert spec.by_attribute("WaterQualityObserved", "temperature") is None
    assert spec.by_definition(no2.definition) is no2
    assert spec.datastream_properties == ("profile", "profileVersion")
    assert spec.thing_properties == ("stationId",)


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_examples_validate(air: Profile, path: Path) -> None:
    assert air.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_message() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    assert len(_examples("valid")) >= 3


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_one_reason(air: Profile, path: Path) -> None:
    problems = air.validate(json.loads(path.read_text(encoding="utf-8")))
    assert problems and INVALID[path.stem] in problems[0], problems


def test_results_are_checked_by_type_and_range(air: Profile) -> None:
    rh = air.sensorthings.observed_properties["relative_humidity"]  # type: ignore[union-attr]
    assert rh.result_problem(55.5) is None
    assert "not of type number" in (rh.result_problem("55") or "")
    assert "not of type number" in (rh.result_problem(True) or "")
    assert "above the plausible maximum 100" in (rh.result_problem(100.5) or "")


def _copy(tmp_path: Path, change: Any) -> Path:
    folder = tmp_path / "air-quality"
    shutil.copytree(PROFILE_DIR, folder)
    meta = yaml.safe_load((folder / "profile.yaml").read_text(encoding="utf-8"))
    schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    change(meta, schema)
    (folder / "profile.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    (folder / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return folder


def _unit_in_yaml(meta: dict, schema: dict) -> None:
    meta["observed_properties"]["no2"]["unit"] = {
        "name": "part per billion",
        "symbol": "[ppb]",
        "definition": "http://unitsofmeasure.org/ucum.html#[ppb]",
    }


def _range_in_schema(meta: dict, schema: dict) -> None:
    result = schema["$defs"]["o3"]["properties"]["Observations"]["items"]["properties"]["result"]
    result["maximum"] = 5000


def _property_without_schema(meta: dict, schema: dict) -> None:
    meta["observed_properties"]["co"] = {
        **meta["observed_properties"]["no2"],
        "name": "CO",
        "definition": "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/10",
    }


def _version_only_in_yaml(meta: dict, schema: dict) -> None:
    meta["version"] = "1.1.0"


def _pretty_unit_symbol(meta: dict, schema: dict) -> None:
    meta["observed_properties"]["no2"]["unit"]["symbol"] = "µg/m³"


def _no_observed_properties(meta: dict, schema: dict) -> None:
    del meta["observed_properties"]


def _shared_definition(meta: dict, schema: dict) -> None:
    table = meta["observed_properties"]
    table["pm25"]["definition"] = table["pm10"]["definition"]


@pytest.mark.parametrize(
    ("change", "file", "phrase"),
    [
        (_unit_in_yaml, "schema.json", "unitOfMeasurement.symbol"),
        (_range_in_schema, "schema.json", "$defs.o3: result"),
        (_property_without_schema, "schema.json", "oneOf must reference"),
        (_version_only_in_yaml, "schema.json", "profileVersion must be the constant '1.1.0'"),
        (_pretty_unit_symbol, "profile.yaml", "unit.definition: expected"),
        (_no_observed_properties, "profile.yaml", "observed_properties: expected a non-empty"),
        (_shared_definition, "profile.yaml", "share a definition URI"),
    ],
    ids=["unit", "range", "property", "version", "symbol-not-ucum", "empty", "shared-uri"],
)
def test_the_loader_rejects_a_profile_whose_files_disagree(
    tmp_path: Path, change: Any, file: str, phrase: str
) -> None:
    folder = _copy(tmp_path, change)
    with pytest.raises(ProfileError) as e:
        profiles.load(folder)
    assert str(folder / file) in str(e.value) and phrase in str(e.value)


def test_a_features_profile_has_no_sensorthings_part() -> None:
    assert profiles.get("street-trees").sensorthings is None


def test_a_collection_cannot_take_a_sensorthings_profile(tmp_path: Path) -> None:
    from gateway.catalog import Catalog
    from gateway.config import ConfigError, parse_config

    collection = {
        "profile": "air-quality",
        "source": {"connector": "geojson", "path": "x.geojson"},
        "mapping": {"properties": {}},
    }
    raw = {"tenants": {"t": {"collections": {"air": collection}}}}
    with pytest.raises(ConfigError) as e:
        Catalog(parse_config(raw, "demo.yaml", tmp_path))
    assert "tenants.t.collections.air.profile" in str(e.value)
    assert "sensorthings.sync" in str(e.value)
