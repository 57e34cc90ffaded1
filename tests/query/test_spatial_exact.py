"""Spatial predicates see the coordinates as stored (issue 16, defect 12).

Parcels whose boundaries a filter's geometry shares, in every path a filter can take: a
GeoJSON file (held in memory), a GeoPackage read per request (the gateway evaluates),
PostGIS with the predicate pushed down and PostGIS with it left to the gateway (an OR with
a term PostgreSQL cannot run). Each data set is stored in CRS84 and in EPSG:25832; the
literal is given in the storage CRS (`filter-crs`). The coordinates are chosen so that
rounding to 7 decimals of a degree, as the gateway did before evaluating (and serving),
moves a shared vertex off the boundary.

What holds for projected storage (see connectors/crs.py): vertices the two geometries share
stay shared through the transform to CRS84, so predicates decided by shared vertices and
the edges between them are exact; these parcels share vertices, not just collinear points.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import shapely
from starlette.testclient import TestClient

from connectors.crs import EPSG_URI
from gateway.app import create_app
from gateway.config import parse_config
from tests.conftest import require_command
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401

Coords = list[tuple[float, float]]


def shapes(x0: float, x1: float, y0: float, ym: float, y1: float, step: float) -> dict[str, Any]:
    """The parcels (a, b, c, d) and the filter geometries, in one CRS. `a` has vertices
    wherever a literal meets it, so every shared point is a vertex of both."""
    a: Coords = [(x0, y0), (x1, y0), (x1, ym), (x1, y1), (x0, y1), (x0, ym)]
    c = [(x1 + 3 * step, y0), (x1 + 4 * step, y0), (x1 + 4 * step, y1)]
    c = [(x + step * 4.321e-5, y + step * 4.321e-5) for x, y in c]
    return {
        "parcels": {
            "a": a,
            "b": [(x1 + step, y0), (x1 + 2 * step, y0), (x1 + 2 * step, y1), (x1 + step, y1)],
            "c": c,
            "d": [
                (x0 - step / 2, ym),
                (x0 + step / 2, ym),
                (x0 + step / 2, y1),
                (x0 - step / 2, y1),
            ],
        },
        "touches": [(x0 - step, y0), (x0, y0), (x0, ym), (x0, y1), (x0 - step, y1)],
        "within": [
            (x0, y0),
            (x1, y0),
            (x1 + step, y0),
            (x1 + step, y1),
            (x1, y1),
            (x0, y1),
            (x0, ym),
        ],
        "contains": [(x0, ym), (x1, ym), (x1, y1), (x0, y1)],
        "equals": c,
    }


# x0 rounds (7 decimals) west, out of `within`, into `touches`; y1 rounds south, off `contains`
CRS84_SHAPES = shapes(9.12345674321, 9.2, 53.55, 53.57, 53.60000004321, 0.1)
UTM_SHAPES = shapes(566000.12345674321, 567000.5, 5934000.25, 5934500.5, 5935000.98765432, 100.0)
STORED = {"crs84": (CRS84_SHAPES, 4326), "utm": (UTM_SHAPES, 25832)}
EXPECTED = {"touches": ["a"], "within": ["a"], "contains": ["a"], "equals": ["c"]}


def polygon(coords: Coords) -> shapely.Polygon:
    return shapely.Polygon([*coords, coords[0]])


def wkt(coords: Coords) -> str:
    """Every digit of every coordinate (repr), so the literal is exactly these doubles."""
    ring = ", ".join(f"{x!r} {y!r}" for x, y in [*coords, coords[0]])
    return f"POLYGON(({ring}))"


def write_geojson(folder: Path, name: str, parcels: dict[str, Coords], srid: int) -> Path:
    features = [
        {
            "type": "Feature",
            "id": fid,
            "properties": {"name": fid},
            "geometry": shapely.geometry.mapping(polygon(coords)),
        }
        for fid, coords in parcels.items()
    ]
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if srid != 4326:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}
    path = folder / f"{name}.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


async def load_postgis(db: PostGIS, table: str, parcels: dict[str, Coords], srid: int) -> None:
    conn = await asyncpg.connect(db.dsn)
    try:
        await conn.execute(
            f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table}"
            f" (id text PRIMARY KEY, name text, geom geometry(Polygon, {srid}))"
        )
        await conn.executemany(
            f"INSERT INTO {table} VALUES ($1, $1, ST_GeomFromWKB($2, {srid}))",
            [(fid, shapely.to_wkb(polygon(coords))) for fid, coords in parcels.items()],
        )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, postgis: PostGIS) -> Iterator[TestClient]:
    ogr2ogr = require_command("ogr2ogr")
    folder = tmp_path_factory.mktemp("parcels")
    collections: dict[str, Any] = {}
    for stored, (drawn, srid) in STORED.items():
        path = write_geojson(folder, stored, drawn["parcels"], srid)
        gpkg = folder / f"{stored}.gpkg"
        subprocess.run(
            [ogr2ogr, "-f", "GPKG", str(gpkg), str(path), "-nln", "parcels"],
            check=True,
            capture_output=True,
        )
        table = f"parcels_{stored}"
        asyncio.run(load_postgis(postgis, table, drawn["parcels"], srid))
        collections[f"file_{stored}"] = {"source": {"connector": "geojson", "path": str(path)}}
        collections[f"gpkg_{stored}"] = {
            "source": {
                "connector": "geopackage",
                "path": str(gpkg),
                "table": "parcels",
                "id_field": "name",
                "in_memory": False,
            }
        }
        collections[f"postgis_{stored}"] = {
            "source": {"connector": "postgis", **postgis.options(table)}
        }
    config = {"tenants": {"t": {"collections": collections}}}
    with TestClient(create_app(parse_config(config, "parcels.yaml", folder))) as c:
        yield c


def selected(client: TestClient, collection: str, text: str, srid: int) -> list[str]:
    params = {"filter": text, "limit": 100}
    if srid != 4326:
        params["filter-crs"] = f"{EPSG_URI}{srid}"
    response = client.get(f"/t/collections/{collection}/items", params=params)
    assert response.status_code == 200, response.text
    return sorted(str(f["properties"]["name"]) for f in response.json()["features"])


@pytest.mark.integration
@pytest.mark.parametrize("stored", sorted(STORED))
@pytest.mark.parametrize("source", ["file", "gpkg", "postgis"])
@pytest.mark.parametrize("predicate", sorted(EXPECTED))
def test_shared_boundaries_are_seen_exactly_in_every_path(client, stored, source, predicate):
    drawn, srid = STORED[stored]
    text = f"S_{predicate.upper()}(geometry, {wkt(drawn[predicate])})"
    collection = f"{source}_{stored}"
    assert selected(client, collection, text, srid) == EXPECTED[predicate]
    # and with the predicate left to the gateway (PostgreSQL cannot run CASEI exactly)
    residual = f"{text} OR CASEI(name) = 'nothing'"
    assert selected(client, collection, residual, srid) == EXPECTED[predicate]


@pytest.mark.integration
@pytest.mark.parametrize("stored", sorted(STORED))
@pytest.mark.parametrize("source", ["file", "gpkg", "postgis"])
def test_a_served_geometry_sent_back_selects_its_feature(client, stored, source):
    """What the gateway serves is what it evaluates: nothing rounded in between, so a
    client's S_EQUALS with a geometry it was given finds that feature (in CRS84)."""
    collection = f"{source}_{stored}"
    served = client.get(f"/t/collections/{collection}/items").json()["features"]
    for feature in served:
        text = json.dumps(
            {"op": "s_equals", "args": [{"property": "geometry"}, feature["geometry"]]}
        )
        params = {"filter": text, "filter-lang": "cql2-json"}
        found = client.get(f"/t/collections/{collection}/items", params=params).json()
        assert [f["id"] for f in found["features"]] == [feature["id"]], (collection, feature["id"])
