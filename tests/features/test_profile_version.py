"""A collection declares the profile version its items conform to (`conformsTo`), that URI
resolves to the profile, and a mapping written for another version does not start."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.catalog import Catalog
from gateway.config import parse_config
from gateway.errors import ConfigError

STREET_TREES = "http://testserver/catalog/profiles/street-trees/1.0.0"


@pytest.mark.parametrize(
    "path", ["/hamburg/collections/strassenbaeume", "/collections/street-trees"]
)
def test_a_profiled_collection_declares_its_profile_version(demo_client: TestClient, path: str):
    doc = demo_client.get(path).json()
    assert doc["conformsTo"] == [STREET_TREES]
    listed = demo_client.get(path.rsplit("/", 1)[0]).json()["collections"]
    entry = next(c for c in listed if c["id"] == doc["id"])
    assert entry["conformsTo"] == [STREET_TREES]


def test_the_declared_version_resolves_to_the_profile(demo_client: TestClient):
    profile = demo_client.get(STREET_TREES).json()
    assert (profile["id"], profile["version"]) == ("street-trees", "1.0.0")
    assert "properties" in profile["schema"]
    gone = demo_client.get("/catalog/profiles/street-trees/0.9.0")
    assert gone.status_code == 404 and "1.0.0" in gone.json()["description"]


def test_a_collection_without_a_profile_declares_none(demo_client: TestClient):
    doc = demo_client.get("/rotterdam/collections/luchtkwaliteit").json()
    assert "conformsTo" not in doc


TREES = {
    "profile": "street-trees",
    "source": {"connector": "csv", "path": "t.csv", "x": "X", "y": "Y"},
    "mapping": {"properties": {"species_scientific": "art"}},
}


def test_a_mapping_written_for_another_version_does_not_start(tmp_path: Path):
    trees = {**copy.deepcopy(TREES), "profile_version": "0.9.0"}
    loaded = parse_config(
        {"tenants": {"leipzig": {"collections": {"trees": trees}}}}, "x.yaml", tmp_path
    )
    with pytest.raises(ConfigError, match=r"trees.profile: .*written for street-trees 0\.9\.0"):
        Catalog(loaded)


def test_a_profile_version_needs_a_profile(tmp_path: Path):
    trees = {"source": TREES["source"], "profile_version": "1.0.0"}
    with pytest.raises(ConfigError, match="'profile_version' needs a 'profile'"):
        parse_config({"tenants": {"leipzig": {"collections": {"trees": trees}}}}, "x", tmp_path)
