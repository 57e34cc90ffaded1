"""The street-trees profile: its schema, its examples and the profile loader."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import profiles
from profiles import Profile, UnknownProfile

PROFILE_DIR = Path(profiles.__file__).parent / "street-trees"
PROPERTIES = [
    "species_scientific",
    "species_german",
    "genus",
    "planting_year",
    "height_m",
    "crown_diameter_m",
    "trunk_circumference_cm",
    "district",
    "street",
    "last_update",
    "tenant",
]
# invalid example -> a phrase its error message must contain
INVALID = {
    "missing-geometry": "'geometry' is a required property",
    "unknown-genus": "'Pinus' is not one of",
    "planting-year-as-string": "'1987' is not of type 'integer', 'null'",
    "negative-height": "-3.5 is less than the minimum of 0",
    "unknown-property": "Additional properties are not allowed ('baumid' was unexpected)",
    "polygon-geometry": "'Polygon' is not one of ['Point']",
    "planting-year-before-1800": "1650 is less than the minimum of 1800",
    "last-update-not-a-date": "'14.03.2023' is not a 'date'",
    "missing-species": "'species_scientific' is a required property",
}


def _examples(kind: str) -> list[Path]:
    return sorted((PROFILE_DIR / "examples" / kind).glob("*.json"))


@pytest.fixture(scope="module")
def trees() -> Profile:
    return profiles.get("street-trees")


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = json.loads((PROFILE_DIR / "schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_declares_part5_roles_units_and_order(trees: Profile) -> None:
    top = trees.schema["properties"]
    assert top["id"]["x-ogc-role"] == "id"
    assert top["geometry"]["x-ogc-role"] == "primary-geometry"
    assert top["geometry"]["format"] == "geometry-point"
    props = trees.properties()
    assert list(props) == PROPERTIES
    assert [p["x-ogc-propertySeq"] for p in props.values()] == list(range(1, len(PROPERTIES) + 1))
    assert props["last_update"]["x-ogc-role"] == "primary-instant"
    assert props["last_update"]["format"] == "date"
    units = {name: p.get("x-ogc-unit") for name, p in props.items() if "x-ogc-unit" in p}
    assert units == {"height_m": "m", "crown_diameter_m": "m", "trunk_circumference_cm": "cm"}
    assert all(p.get("title") and p.get("description") for p in props.values())
    assert trees.schema["properties"]["properties"]["additionalProperties"] is False


def test_cadastre_gaps_are_nullable_and_tenant_is_optional(trees: Profile) -> None:
    props = trees.properties()
    nullable = {name for name, p in props.items() if "null" in p["type"]}
    assert nullable == {
        "planting_year",
        "height_m",
        "crown_diameter_m",
        "trunk_circumference_cm",
        "street",
    }
    required = set(trees.schema["properties"]["properties"]["required"])
    assert required == set(PROPERTIES) - {"tenant"}


def test_genus_enum_matches_the_code_list(trees: Profile) -> None:
    assert trees.properties()["genus"]["enum"] == sorted(trees.code_lists["genus"])


def test_profile_metadata(trees: Profile) -> None:
    assert (trees.id, trees.version, trees.kind) == ("street-trees", "1.0.0", "features")
    assert trees.geometry_type == "Point"
    assert trees.temporal_property == "last_update"
    assert trees.path == PROFILE_DIR
    assert set(trees.queryables) <= set(PROPERTIES)
    assert set(trees.sortables) <= set(trees.queryables)
    assert "tenant" not in trees.queryables  # only the federated collection adds it


def test_profile_yaml_names_the_same_id_as_its_folder() -> None:
    meta = yaml.safe_load((PROFILE_DIR / "profile.yaml").read_text(encoding="utf-8"))
    assert meta["id"] == PROFILE_DIR.name


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.stem)
def test_valid_example_validates(trees: Profile, path: Path) -> None:
    assert trees.validate(json.loads(path.read_text(encoding="utf-8"))) == []


def test_every_invalid_example_has_an_expected_error() -> None:
    assert {p.stem for p in _examples("invalid")} == set(INVALID)
    assert len(_examples("valid")) >= 3


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.stem)
def test_invalid_example_is_rejected_for_its_reason(trees: Profile, path: Path) -> None:
    errors = trees.validate(json.loads(path.read_text(encoding="utf-8")))
    assert errors, f"{path.name} validated"
    assert any(INVALID[path.stem] in e for e in errors), errors


def test_validate_messages_name_the_json_path(trees: Profile) -> None:
    feature = json.loads(_examples("valid")[0].read_text(encoding="utf-8"))
    feature["properties"]["height_m"] = 80
    assert trees.validate(feature) == [
        "$.properties.height_m: 80 is greater than the maximum of 60"
    ]


def test_available_lists_street_trees() -> None:
    assert "street-trees" in profiles.available()


def test_get_returns_the_cached_profile() -> None:
    assert profiles.get("street-trees") is profiles.get("street-trees")


def test_unknown_profile_names_the_available_ones() -> None:
    with pytest.raises(UnknownProfile, match="unknown profile 'oak-trees'.*street-trees"):
        profiles.get("oak-trees")
    with pytest.raises(LookupError):
        profiles.get("oak-trees")


def test_profile_path_env_adds_search_folders(tmp_path: Path, monkeypatch) -> None:
    extra = tmp_path / "my-profiles" / "park-trees"
    shutil.copytree(PROFILE_DIR, extra)
    meta = (extra / "profile.yaml").read_text(encoding="utf-8")
    (extra / "profile.yaml").write_text(meta.replace("id: street-trees", "id: park-trees"))
    monkeypatch.setenv(
        profiles.PATH_ENV, os.pathsep.join([str(tmp_path / "nowhere"), str(extra.parent)])
    )
    assert {"park-trees", "street-trees"} <= set(profiles.available())
    assert profiles.get("park-trees").path == extra.resolve()
    monkeypatch.delenv(profiles.PATH_ENV)
    assert "park-trees" not in profiles.available()


def test_broken_profile_is_reported_with_its_file(tmp_path: Path, monkeypatch) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(PROFILE_DIR, broken)
    meta = (broken / "profile.yaml").read_text(encoding="utf-8")
    (broken / "profile.yaml").write_text(meta.replace("  - street\n", "  - strasse\n"))
    monkeypatch.setenv(profiles.PATH_ENV, str(tmp_path))
    with pytest.raises(profiles.ProfileError, match=r"profile.yaml: queryables .*'strasse'"):
        profiles.available()
