"""Stored WKB as GeoJSON: the one-read path for pages of points gives what decoding each
geometry with shapely gives, in CRS84 and from another CRS; other pages take that path."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import shapely

from connectors.crs import to_geojson, transform_geometries
from connectors.postgis.geometry import geojson


def point(x: float, y: float) -> bytes:
    return b"\x01\x01\x00\x00\x00" + struct.pack("<dd", x, y)


def decoded(blobs: list[bytes | None], crs: str) -> list[dict | None]:
    """Each geometry decoded by shapely: the general path, as the reference."""
    shapes = shapely.from_wkb(np.array(blobs, dtype=object))
    if crs != "EPSG:4326":
        shapes = transform_geometries(shapes, crs)
    return to_geojson(shapes)


@pytest.mark.parametrize(
    ("crs", "coordinates"),
    [
        ("EPSG:4326", [(9.9537835123456789, 53.5923086), (-0.5, 1e-7), (180.0, -90.0)]),
        ("EPSG:25832", [(566_000.25, 5_933_000.5), (560_000.0, 5_930_000.0)]),
    ],
)
def test_a_page_of_points_reads_as_shapely_decodes_it(
    crs: str, coordinates: list[tuple[float, float]]
) -> None:
    blobs: list[bytes | None] = [point(x, y) for x, y in coordinates]
    found = geojson(blobs, crs)
    assert found == decoded(blobs, crs)
    if crs == "EPSG:4326":  # never rounded
        assert [g["coordinates"] for g in found] == [list(c) for c in coordinates]


def test_missing_geometries_and_other_types_keep_their_places() -> None:
    line = shapely.to_wkb(shapely.LineString([(9.0, 53.0), (10.0, 54.0)]), byte_order=1)
    blobs: list[bytes | None] = [point(9.5, 53.5), None, line, point(10.0, 53.0)]
    found = geojson(blobs, "EPSG:4326")
    assert found[1] is None
    assert found[2] == {"type": "LineString", "coordinates": [[9.0, 53.0], [10.0, 54.0]]}
    assert found[0] == {"type": "Point", "coordinates": [9.5, 53.5]}
    assert found[3] == {"type": "Point", "coordinates": [10.0, 53.0]}
    big_endian = b"\x00\x00\x00\x00\x01" + struct.pack(">dd", 9.5, 53.5)  # 21 bytes too
    assert geojson([point(1.0, 2.0), big_endian], "EPSG:4326")[1] == found[0]
    assert geojson([], "EPSG:4326") == []
