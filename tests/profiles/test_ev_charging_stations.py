"""The ev-charging-stations profile: its schema, code lists, examples, and that each invalid
example breaks exactly one rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import profiles
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "ev-charging-stations"
PROPERTIES = [
    "name",
    "operator",
    "status",
    "access",
    "charging_points",
    "connector_types",
    "max_power_kw",
    "total_power_kw",
    "charging_type",
    "payment_methods",
    "opening_hours",
    "commissioned",
    "district",
    "street",
    "postcode",
    "tenant",
]
CODED = ("status", "access", "connector_types", "charging_type", "payment_methods")
# invalid example -> a phrase its error message must contain
INVALID = {
    "missing-geometry": "'geometry' is a required property",
    "polygon-geometry": "'Polygon' is not one of ['Point']",
    "missing-operator": "'operator' is a required property",
    "connector-as-free-text": "'AC Steckdose Typ 2' is not one of",
    "no-connector-types": "[] should be non-empty",
    "connector-type-twice": "['type2', 'type2'] has non-unique elements",
    "max-power-in-watts": "22000 is greater than the maximum of 1000",
    "status-in-german": "'In Betrieb' is not one of",
    "access-as-boolean": "True is not of type 'string'",
    "charging-points-as-string": "'2' is not of type 'integer'",
    "commissioned-german-date": "'14.05.2019' is not a 'date'",
    "postcode-four-digits": "'4109' does not match",
    "unknown-payment-method": "'paypal' is not one of",
    "unknown-property": "('steckertypen' was unexpected)",
}


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stations() -> Profile:
    return profiles.get("ev-charging-stations")


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = json.loads((PROFILE_DIR / "schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_declares_part5_roles_units_and_order(stations: Profile) -> None:
    top = stations.schema["properties"]
    assert top["id"]["x-ogc-role"] == "id"
    assert top["geometry"]["x-ogc-role"] == "primary-geometry"
    assert top["geometry"]["format"] == "geometry-point"
    props = stations.properties()
    assert list(props) == PROPERTIES
    assert [p["x-ogc-propertySeq"] for p in props.values()] == list(range(1, len(PROPERTIES) + 1))
    assert props["commissioned"]["x-ogc-role"] == "primary-instant"
    assert props["commissioned"]["format"] == "date"
    units = {name: p["x-ogc-unit"] for name, p in props.items() if "x-ogc-unit" in p}
    assert units == {"max_power_kw": "kW", "total_power_kw": "kW"}
    assert all(p.get("title") and p.get("description") for p in props.values())
    assert stations.schema["properties"]["properties"]["additionalProperties"] is False


def test_gaps_are_nullable_and_tenant_is_optional(stations: Profile) -> None:
    props = stations.properties()
    nullable = {name for name, p in props.items() if "null" in p["type"]}
    assert nullable == {
        "total_power_kw",
        "payment_methods",
        "opening_hours",
        "commissioned",
        "street",
        "postcode",
    }
    required = set(stations.schema["properties"]["properties"]["required"])
    assert required == set(PROPERTIES) - {"tenant"}


def test_enums_match_the_code_lists(stations: Profile) -> None:
    props = stations.properties()
    assert set(stations.code_lists) == set(CODED)
    for name in CODED:
        enum = props[name].get("enum") or props[name]["items"]["enum"]
        assert enum == sorted(stations.code_lists[name]), name


def test_connector_code_list_covers_the_common_european_standards(stations: Profile) -> None:
    names = stations.code_lists["connector_types"]
    assert set(names) == {"type2", "ccs2", "chademo", "schuko", "tesla"}
    assert "IEC 62196-2" in names["type2"] and "IEC 62196-3" in names["ccs2"]


def test_profile_metadata(stations: Profile) -> None:
    assert (stations.id, stations.version, stations.kind) == (
        "ev-charging-stations",
        "1.0.0",
        "features",
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+", stations.version)
    assert stations.geometry_type == "Point"
    assert stations.temporal_property == "commissioned"
    assert set(stations.queryables) <= set(PROPERTIES) - {"tenant"}
    assert set(stations.sortables) <= set(stations.queryables)
    arrays = {n for n, p in stations.properties().items() if "array" in p["type"]}
    assert arrays == {"connector_types", "payment_methods"}
    assert not arrays & set(stations.queryables)  # the gateway does not filter arrays yet
    meta = yaml.safe_load((PROFILE_DIR / "profile.yaml").read_text(encoding="utf-8"))
    assert meta["id"] == PROFILE_DIR.name


def test_alignment_notes_name_the_four_standards(stations: Profile) -> None:
    standards = " ".join(a["standard"] for a in stations.alignment)
    for name in ("EVChargingStation", "OCPI 2.2", "Ladesäulenregister", "AFIR"):
        assert name in standards, name
    notes = " ".join(a["note"] for a in stations.alignment)
    assert "IEC_62196_T2_COMBO" in notes and "Nennleistung Ladeeinrichtung" in notes


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_example_validates(stations: Profile, path: Path) -> None:
    assert stations.validate(_load(path)) == []


def test_examples_cover_both_cities_and_the_federation() -> None:
    valid = [_load(p) for p in _examples("valid")]
    assert len(valid) >= 3 and len(_examples("invalid")) >= 6
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    tenants = [f["properties"].get("tenant") for f in valid]
    assert tenants.count("leipzig") == 1 and tenants.count(None) == len(valid) - 1
    federated = next(f for f in valid if "tenant" in f["properties"])
    assert federated["id"].startswith("leipzig.")


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_example_breaks_exactly_one_rule(stations: Profile, path: Path) -> None:
    errors = stations.validate(_load(path))
    assert errors, f"{path.name} validated"
    assert any(INVALID[path.stem] in e for e in errors), errors
    # every message concerns the same member: `$.geometry...`, `$.properties.max_power_kw`
    where = {re.match(r"\$(\.geometry|\.properties(\.\w+)?)?", e).group(0) for e in errors}
    assert len(where) == 1, errors


def test_invalid_examples_differ_from_a_valid_one_in_one_member() -> None:
    base = _load(PROFILE_DIR / "examples" / "valid" / "hamburg-ac-two-points-type2.json")
    for path in _examples("invalid"):
        bad = _load(path)
        top = {k for k in base.keys() | bad.keys() if base.get(k) != bad.get(k)}
        props = base["properties"], bad.get("properties", {})
        changed = {
            k for k in props[0].keys() | props[1].keys() if props[0].get(k) != props[1].get(k)
        }
        assert len(top - {"properties"}) + len(changed) == 1, path.name


def test_multi_valued_codes_are_checked_item_by_item(stations: Profile) -> None:
    feature = _load(
        PROFILE_DIR / "examples" / "valid" / "leipzig-triple-charger-ccs-chademo-type2.json"
    )
    feature["properties"]["connector_types"] = ["ccs2", "Typ 2"]
    assert stations.validate(feature) == [
        "$.properties.connector_types[1]: 'Typ 2' is not one of "
        "['ccs2', 'chademo', 'schuko', 'tesla', 'type2']"
    ]
