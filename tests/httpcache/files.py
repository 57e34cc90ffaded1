"""A small gateway over GeoJSON files for the HTTP caching tests: two tenants' street
trees (so the root has a federated collection) and a file the tests may rewrite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml


def write_trees(path: Path, names: list[str]) -> None:
    """One point per name; rewriting the file changes its size or time, hence its tag."""
    features = [
        {
            "type": "Feature",
            "id": i + 1,
            "geometry": {"type": "Point", "coordinates": [10.0 + i / 100, 53.5]},
            "properties": {"art": name},
        }
        for i, name in enumerate(names)
    ]
    path.write_bytes(orjson.dumps({"type": "FeatureCollection", "features": features}))


def collection(file: str, **extra: Any) -> dict[str, Any]:
    return {
        "profile": "street-trees",
        "source": {"connector": "geojson", "path": file},
        "mapping": {"properties": {"species_german": "art"}},
        **extra,
    }


def write_config(
    folder: Path, server: dict[str, Any] | None = None, **tenants: dict[str, Any]
) -> Path:
    """`tenants`: more tenants, each its collections."""
    write_trees(folder / "a.geojson", ["Linde", "Eiche", "Ahorn"])
    write_trees(folder / "b.geojson", ["Buche"])
    config = {
        "server": {"http_cache": {"version_ttl": 0}, **(server or {})},
        "tenants": {
            "a": {"collections": {"trees": collection("a.geojson")}},
            "b": {
                "collections": {
                    "trees": collection(
                        "b.geojson", http_cache={"items_max_age": 30, "response_ttl": 5}
                    )
                }
            },
            **{name: {"collections": c} for name, c in tenants.items()},
        },
    }
    path = folder / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
