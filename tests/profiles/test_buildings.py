"""The buildings profile (footprints, function, roof, heights, storeys, year, LoD): its
schema, code lists and examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "buildings"
PROPERTIES = [
    "function",
    "roof_type",
    "condition",
    "height_m",
    "eaves_height_m",
    "ridge_height_m",
    "ground_elevation_m",
    "vertical_datum",
    "storeys_above_ground",
    "storeys_below_ground",
    "year_of_construction",
    "footprint_area_m2",
    "lod",
    "street",
    "district",
    "last_update",
    "tenant",
]
# invalid example -> a phrase its error message must contain
INVALID = {
    "function-as-alkis-code": "'1010' is not one of",
    "roof-type-in-german": "'Satteldach' is not one of",
    "height-in-centimetres": "1960 is greater than the maximum of 1000",
    "zero-height": "0 is less than or equal to the minimum of 0",
    "ground-elevation-without-datum": "$.properties.vertical_datum: None is not of type 'string'",
    "lod-5": "5 is greater than the maximum of 4",
    "storeys-as-string": "'5' is not of type 'integer', 'null'",
    "year-of-construction-two-digits": "98 is less than the minimum of 1000",
    "missing-function": "'function' is a required property",
    "unknown-property": "('measuredHeight' was unexpected)",
    "point-geometry": "'Point' is not one of ['Polygon', 'MultiPolygon']",
}
# AdV Dachform codes (GeoInfoDok AX_Dachform) -> the profile's roof type: a typo in
# profile.yaml or in a city's mapping cannot pass unnoticed.
ALKIS_DACHFORM = {
    "1000": ("flat", "Flachdach"),
    "2100": ("shed", "Pultdach"),
    "3100": ("gable", "Satteldach"),
    "3200": ("hip", "Walmdach"),
    "3300": ("half_hip", "Krüppelwalmdach"),
    "3400": ("mansard", "Mansardendach"),
    "3500": ("tent", "Zeltdach"),
    "3700": ("dome", "Kuppeldach"),
    "3800": ("sawtooth", "Sheddach"),
}
UNITS = {
    "height_m": "m",
    "eaves_height_m": "m",
    "ridge_height_m": "m",
    "ground_elevation_m": "m",
    "footprint_area_m2": "m2",
}


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def _example(name: str) -> dict:
    return json.loads((PROFILE_DIR / "examples" / "valid" / f"{name}.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def buildings() -> Profile:
    return profiles.get("buildings")


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = json.loads((PROFILE_DIR / "schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_declares_part5_roles_order_and_ucum_units(buildings: Profile) -> None:
    top = buildings.schema["properties"]
    assert top["id"]["x-ogc-role"] == "id"
    assert top["geometry"]["x-ogc-role"] == "primary-geometry"
    assert top["geometry"]["format"] == "geometry-polygon-or-multipolygon"
    props = buildings.properties()
    assert list(props) == PROPERTIES
    assert [p["x-ogc-propertySeq"] for p in props.values()] == list(range(1, len(PROPERTIES) + 1))
    assert props["last_update"]["x-ogc-role"] == "primary-instant"
    assert {n: p["x-ogc-unit"] for n, p in props.items() if "x-ogc-unit" in p} == UNITS
    assert all(p.get("title") and p.get("description") for p in props.values())
    assert buildings.schema["properties"]["properties"]["additionalProperties"] is False


def test_every_number_has_a_plausible_range(buildings: Profile) -> None:
    for name, spec in buildings.properties().items():
        kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if {"number", "integer"} & set(kinds):
            low = spec.get("minimum", spec.get("exclusiveMinimum"))
            assert low is not None and "maximum" in spec, name


def test_only_function_and_lod_are_never_null(buildings: Profile) -> None:
    props = buildings.properties()
    not_null = {name for name, p in props.items() if "null" not in p["type"]}
    assert not_null == {"function", "lod", "tenant"}
    required = set(buildings.schema["properties"]["properties"]["required"])
    assert required == set(PROPERTIES) - {"tenant"}


@pytest.mark.parametrize("name", ["function", "roof_type", "condition", "vertical_datum"])
def test_code_list_equals_the_schema_enum(buildings: Profile, name: str) -> None:
    enum = [code for code in buildings.properties()[name]["enum"] if code is not None]
    assert enum == list(buildings.code_lists[name])
    codes = buildings.code_lists[name]
    assert len(set(codes.values())) == len(codes), "two codes share a name: not invertible"


def test_roof_types_carry_the_alkis_dachform_names(buildings: Profile) -> None:
    names = buildings.code_lists["roof_type"]
    assert {code: names[value] for code, (value, _) in ALKIS_DACHFORM.items()} == {
        code: german for code, (_, german) in ALKIS_DACHFORM.items()
    }
    alignment = next(a["note"] for a in buildings.alignment if a["standard"].startswith("ALKIS"))
    flat = " ".join(alignment.split())
    for code, (value, _) in ALKIS_DACHFORM.items():
        assert f"{code} {value}" in flat, code


def test_profile_metadata(buildings: Profile) -> None:
    assert (buildings.id, buildings.version, buildings.kind) == ("buildings", "1.0.0", "features")
    assert buildings.geometry_type == "MultiPolygon"
    assert buildings.temporal_property == "last_update"
    assert set(buildings.queryables) <= set(PROPERTIES) - {"tenant"}
    assert set(buildings.sortables) <= set(buildings.queryables)
    assert {"function", "height_m", "lod", "year_of_construction"} <= set(buildings.sortables)
    meta = yaml.safe_load((PROFILE_DIR / "profile.yaml").read_text(encoding="utf-8"))
    assert meta["id"] == PROFILE_DIR.name
    standards = " ".join(a["standard"] for a in buildings.alignment)
    for name in ("CityGML", "ALKIS", "INSPIRE", "Smart Data Models", "DIN SPEC 91607"):
        assert name in standards, name


def test_a_ground_elevation_needs_its_datum_but_no_elevation_needs_none(
    buildings: Profile,
) -> None:
    feature = _example("leipzig-gruenderzeit-wohnhaus-lod1")
    without = copy.deepcopy(feature)
    without["properties"].update(ground_elevation_m=None, vertical_datum=None)
    assert buildings.validate(without) == []
    feature["properties"]["vertical_datum"] = None
    assert buildings.validate(feature) != []


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_example_validates(buildings: Profile, path: Path) -> None:
    assert buildings.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_valid_examples_show_both_geometry_types_and_a_federated_item() -> None:
    features = [json.loads(p.read_text(encoding="utf-8")) for p in _examples("valid")]
    assert {f["geometry"]["type"] for f in features} == {"Polygon", "MultiPolygon"}
    assert any("tenant" in f["properties"] for f in features)


def test_every_invalid_example_has_an_expected_error() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    assert len(_examples("valid")) >= 3


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_example_is_rejected_for_its_reason(buildings: Profile, path: Path) -> None:
    errors = buildings.validate(json.loads(path.read_text(encoding="utf-8")))
    assert errors, f"{path.name} validated"
    assert any(INVALID[path.stem] in e for e in errors), errors
