"""The land-use-plans profile (XPlanung 6 BP_Plan essentials): its schema, code lists and
examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "land-use-plans"
PROPERTIES = [
    "name",
    "nummer",
    "planArt",
    "rechtsstand",
    "satzungsbeschlussDatum",
    "inkrafttretensDatum",
    "ags",
    "gemeindeName",
    "erstellungsMassstab",
    "externeReferenz",
    "tenant",
]
# invalid example -> a phrase its error message must contain
INVALID = {
    "plan-art-as-text": "'Qualifizierter BPlan' is not one of",
    "plan-art-as-number": "10001 is not of type 'string'",
    "unknown-rechtsstand": "'4100' is not one of",
    "german-date": "'21.05.2019' is not a 'date'",
    "ags-seven-digits": "'2000000' does not match",
    "missing-name": "'name' is a required property",
    "unknown-property": "('planArtWert' was unexpected)",
    "point-geometry": "'Point' is not one of ['Polygon', 'MultiPolygon']",
    "missing-geometry": "'geometry' is a required property",
    "polygon-with-multipolygon-coordinates": "$.geometry.coordinates[0]: [[[9.9262",
}
# A few codes checked against the XPlanung 6.0 enumerations (XPlanGML_BPlan.xsd and the
# XLeitstelle's code list names), so a typo in profile.yaml cannot pass unnoticed.
KNOWN_CODES = {
    "planArt": {
        "1000": "BPlan",
        "10001": "Qualifizierter BPlan",
        "3000": "Vorhabenbezogener BPlan",
        "7000": "Örtliche Bauvorschrift",
    },
    "rechtsstand": {
        "1000": "Aufstellungsbeschluss",
        "2400": "Öffentliche Auslegung",
        "4000": "In Kraft getreten",
        "4500": "Teilweise untergegangen",
        "5000": "Untergegangen",
        "50000": "Aufgehoben",
        "50001": "Außer Kraft",
    },
}


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


@pytest.fixture(scope="module")
def plans() -> Profile:
    return profiles.get("land-use-plans")


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = json.loads((PROFILE_DIR / "schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_declares_part5_roles_and_order(plans: Profile) -> None:
    top = plans.schema["properties"]
    assert top["id"]["x-ogc-role"] == "id"
    assert top["geometry"]["x-ogc-role"] == "primary-geometry"
    assert top["geometry"]["format"] == "geometry-polygon-or-multipolygon"
    props = plans.properties()
    assert list(props) == PROPERTIES
    assert [p["x-ogc-propertySeq"] for p in props.values()] == list(range(1, len(PROPERTIES) + 1))
    assert props["inkrafttretensDatum"]["x-ogc-role"] == "primary-instant"
    dates = {n for n, p in props.items() if p.get("format") == "date"}
    assert dates == {"satzungsbeschlussDatum", "inkrafttretensDatum"}
    assert all(p.get("title") and p.get("description") for p in props.values())
    assert plans.schema["properties"]["properties"]["additionalProperties"] is False


def test_plans_in_procedure_may_lack_dates_and_documents(plans: Profile) -> None:
    props = plans.properties()
    nullable = {name for name, p in props.items() if "null" in p["type"]}
    assert nullable == {
        "nummer",
        "rechtsstand",
        "satzungsbeschlussDatum",
        "inkrafttretensDatum",
        "erstellungsMassstab",
        "externeReferenz",
    }
    required = set(plans.schema["properties"]["properties"]["required"])
    assert required == set(PROPERTIES) - {"tenant"}


@pytest.mark.parametrize("name", ["planArt", "rechtsstand"])
def test_code_list_equals_the_schema_enum(plans: Profile, name: str) -> None:
    enum = [code for code in plans.properties()[name]["enum"] if code is not None]
    assert enum == list(plans.code_lists[name])
    assert all(isinstance(code, str) and code.isdigit() for code in enum)


@pytest.mark.parametrize("name", ["planArt", "rechtsstand"])
def test_code_lists_hold_xplanung_codes_and_german_names(plans: Profile, name: str) -> None:
    codes = plans.code_lists[name]
    assert {code: codes.get(code) for code in KNOWN_CODES[name]} == KNOWN_CODES[name]
    assert len(set(codes.values())) == len(codes), "two codes share a name: not invertible"


def test_profile_metadata(plans: Profile) -> None:
    assert (plans.id, plans.version, plans.kind) == ("land-use-plans", "1.0.0", "features")
    assert plans.geometry_type == "MultiPolygon"
    assert plans.temporal_property == "inkrafttretensDatum"
    assert set(plans.queryables) <= set(PROPERTIES)
    assert set(plans.sortables) <= set(plans.queryables)
    assert {"planArt", "rechtsstand", "ags"} <= set(plans.queryables)
    assert "tenant" not in plans.queryables  # only the federated collection adds it


def test_profile_yaml_names_the_same_id_as_its_folder() -> None:
    meta = yaml.safe_load((PROFILE_DIR / "profile.yaml").read_text(encoding="utf-8"))
    assert meta["id"] == PROFILE_DIR.name


def test_available_lists_both_profiles() -> None:
    assert {"land-use-plans", "street-trees"} <= set(profiles.available())


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_example_validates(plans: Profile, path: Path) -> None:
    assert plans.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_error() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    assert len(_examples("valid")) >= 3


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_example_is_rejected_for_its_reason(plans: Profile, path: Path) -> None:
    errors = plans.validate(json.loads(path.read_text(encoding="utf-8")))
    assert errors, f"{path.name} validated"
    assert any(INVALID[path.stem] in e for e in errors), errors
