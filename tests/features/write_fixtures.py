"""Shared parts of the write tests: the street-trees mapping in a city's own field names and
units, the keys, and a client for a gateway over one writable source."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config

WRITER, READER = "writer-key-for-tests", "reader-key-for-tests"
WRITE = {"X-API-Key": WRITER, "Content-Type": "application/geo+json"}

# street-trees from columns named in German: height in cm, the crown's radius, genus codes,
# and the street as a template over two columns (not invertible)
MAPPING: dict[str, Any] = {
    "id": "baum_nr",
    "properties": {
        "species_scientific": "art",
        "species_german": "art_de",
        "genus": {"from": "gattung_code", "codes": {"TI": "Tilia", "AC": "Acer", "QU": "Quercus"}},
        "planting_year": {"from": "pflanzjahr", "type": "integer"},
        "height_m": {"from": "hoehe_cm", "type": "number", "factor": 0.01},
        "crown_diameter_m": {"from": "krone_r", "type": "number", "factor": 2},
        "trunk_circumference_cm": {"from": "umfang_cm", "type": "number"},
        "district": "bezirk",
        "street": {"template": "{strasse} {hausnr}"},
        "last_update": {"from": "stand", "type": "date"},
    },
}


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def access() -> dict[str, Any]:
    return {
        "api_keys": [
            {"id": "tree-app", "sha256": sha(WRITER), "scopes": ["write:baeume"]},
            {"id": "viewer", "sha256": sha(READER), "scopes": ["read"]},
        ]
    }


def tree(**changes: Any) -> dict[str, Any]:
    """A valid street-trees feature the mapping can store."""
    props = {
        "species_scientific": "Tilia cordata",
        "species_german": "Winter-Linde",
        "genus": "Tilia",
        "planting_year": 1990,
        "height_m": 12.5,
        "crown_diameter_m": 8.3,
        "trunk_circumference_cm": 140,
        "district": "Altona",
        "street": None,
        "last_update": "2024-03-01",
    }
    props.update(changes)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [9.95, 53.55]},
        "properties": props,
    }


def client_for(tenants: dict[str, Any], folder: Path) -> TestClient:
    loaded = parse_config({"tenants": tenants}, "writes.yaml", folder)
    return TestClient(create_app(loaded))
