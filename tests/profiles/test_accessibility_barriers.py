"""The accessibility-barriers profile: its schema, code lists, examples, and that the
barrier API's reports map onto it with the demo's mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import profiles
from gateway.demo.restapis.barriers import CATEGORIES, reports
from profiles import Profile

PROFILE_DIR = Path(profiles.__file__).parent / "accessibility-barriers"
PROPERTIES = [
    "category",
    "status",
    "wheelchair",
    "severity",
    "reported_at",
    "description",
    "district",
    "street",
    "postcode",
    "photo_url",
    "votes",
    "tenant",
]
# invalid example -> a phrase its error message must contain
INVALID = {
    "unknown-category": "'bordstein' is not one of",
    "status-in-german": "'Offen' is not one of",
    "severity-out-of-range": "5 is greater than the maximum of 3",
    "reported-at-a-date": "'04.03.2024' is not a 'date-time'",
    "wheelchair-as-boolean": "False is not of type 'string'",
    "missing-category": "'category' is a required property",
    "unknown-property": "('photos' was unexpected)",
    "missing-geometry": "'geometry' is a required property",
    "polygon-geometry": "'Polygon' is not one of ['Point']",
    "negative-votes": "-1 is less than the minimum of 0",
}


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


@pytest.fixture(scope="module")
def barriers() -> Profile:
    return profiles.get("accessibility-barriers")


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = json.loads((PROFILE_DIR / "schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_declares_part5_roles_and_order(barriers: Profile) -> None:
    top = barriers.schema["properties"]
    assert top["id"]["x-ogc-role"] == "id"
    assert top["geometry"]["x-ogc-role"] == "primary-geometry"
    assert top["geometry"]["format"] == "geometry-point"
    props = barriers.properties()
    assert list(props) == PROPERTIES
    assert [p["x-ogc-propertySeq"] for p in props.values()] == list(range(1, len(PROPERTIES) + 1))
    assert props["reported_at"]["x-ogc-role"] == "primary-instant"
    assert all(p.get("title") and p.get("description") for p in props.values())
    assert barriers.schema["properties"]["properties"]["additionalProperties"] is False


def test_enums_match_the_code_lists(barriers: Profile) -> None:
    props = barriers.properties()
    for name in ("category", "status", "wheelchair"):
        assert props[name]["enum"] == sorted(barriers.code_lists[name]), name


def test_profile_metadata(barriers: Profile) -> None:
    assert (barriers.id, barriers.version, barriers.kind) == (
        "accessibility-barriers",
        "1.0.0",
        "features",
    )
    assert barriers.geometry_type == "Point"
    assert barriers.temporal_property == "reported_at"
    assert set(barriers.queryables) <= set(PROPERTIES) - {"tenant"}
    assert set(barriers.sortables) <= set(barriers.queryables)
    meta = yaml.safe_load((PROFILE_DIR / "profile.yaml").read_text(encoding="utf-8"))
    assert meta["id"] == PROFILE_DIR.name
    standards = " ".join(a["standard"] for a in barriers.alignment)
    assert "OpenStreetMap" in standards and "Open311" in standards


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_example_validates(barriers: Profile, path: Path) -> None:
    assert barriers.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_error() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    assert len(_examples("valid")) >= 3


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_example_is_rejected_for_its_reason(barriers: Profile, path: Path) -> None:
    errors = barriers.validate(json.loads(path.read_text(encoding="utf-8")))
    assert errors, f"{path.name} validated"
    assert any(INVALID[path.stem] in e for e in errors), errors


def test_the_barrier_apis_values_are_in_the_code_lists(barriers: Profile) -> None:
    assert set(CATEGORIES) <= set(barriers.code_lists["category"])
    for report in reports():
        assert report["category"] in barriers.code_lists["category"]
        assert report["status"] in barriers.code_lists["status"]
        assert report["wheelchair"] in barriers.code_lists["wheelchair"]
