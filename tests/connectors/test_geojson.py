"""GeoJSON connector: CRS detection and transform, ids, inferred fields, bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.base import CRS84, SourceQuery
from connectors.geojson import GeoJSONConnector

UTM32_URN = "urn:ogc:def:crs:EPSG::25832"


def feature(geometry: Any, fid: Any = None, **props: Any) -> dict[str, Any]:
    f: dict[str, Any] = {"type": "Feature", "properties": props, "geometry": geometry}
    if fid is not None:
        f["id"] = fid
    return f


def point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


def write(tmp_path: Path, features: list[Any], crs: str | None = None, **extra: Any) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features, **extra}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path = tmp_path / "data.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def make(path: Path, **options: Any) -> GeoJSONConnector:
    config = GeoJSONConnector.Config(path=path.name, **options)
    return GeoJSONConnector(config, base_dir=path.parent, name="hh/data")


def test_legacy_crs_member_is_honoured_and_geometry_moves_to_crs84(tmp_path: Path) -> None:
    path = write(tmp_path, [feature(point(566000, 5934000), name="Rathaus")], crs=UTM32_URN)
    description, records = make(path).load()
    x, y = records[0]["geometry"]["coordinates"]
    assert x == pytest.approx(9.9962, abs=1e-4) and y == pytest.approx(53.5507, abs=1e-4)
    assert description.storage_crs == "http://www.opengis.net/def/crs/EPSG/0/25832"
    assert description.bbox == pytest.approx((x, y, x, y))
    assert description.geometry_type == "Point"


def test_file_without_crs_member_is_crs84_and_kept_as_is(tmp_path: Path) -> None:
    path = write(tmp_path, [feature(point(9.9961917, 53.5507381))])
    description, records = make(path).load()
    assert records[0]["geometry"] == point(9.9961917, 53.5507381)
    assert description.storage_crs == CRS84


def test_configured_crs_overrides_the_file_member(tmp_path: Path) -> None:
    path = write(tmp_path, [feature(point(566000, 5934000))], crs="urn:ogc:def:crs:EPSG::3857")
    description, records = make(path, crs="EPSG:25832").load()
    assert records[0]["geometry"]["coordinates"][0] == pytest.approx(9.9962, abs=1e-4)
    assert description.storage_crs.endswith("/EPSG/0/25832")


def test_polygons_transform_every_vertex(tmp_path: Path) -> None:
    ring = [[566000, 5934000], [567000, 5934000], [567000, 5935000], [566000, 5934000]]
    path = write(tmp_path, [feature({"type": "Polygon", "coordinates": [ring]})], crs=UTM32_URN)
    description, records = make(path).load()
    coords = records[0]["geometry"]["coordinates"][0]
    assert len(coords) == 4 and coords[0] == coords[-1]
    assert coords[1][0] == pytest.approx(10.0113, abs=1e-3)
    assert description.bbox[0] == pytest.approx(9.9962, abs=1e-4)


def test_ids_come_from_id_field_then_feature_id_then_position(tmp_path: Path) -> None:
    features = [feature(None, "a", nr=10), feature(None, "b", nr=11)]
    path = write(tmp_path, features)
    assert [r["id"] for r in make(path).load()[1]] == ["a", "b"]
    description, records = make(path, id_field="nr").load()
    assert [r["id"] for r in records] == [10, 11] and description.id_field == "nr"
    assert records[0]["properties"] == {"nr": 10}  # the id property stays a property
    path = write(tmp_path, [feature(None, "a"), feature(None)])
    assert [r["id"] for r in make(path).load()[1]] == [0, 1]


def test_duplicate_or_missing_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [feature(None, 1), feature(None, "1")])
    with pytest.raises(ValueError, match="duplicate feature id '1'"):
        make(path).load()
    path = write(tmp_path, [feature(None, nr=1), feature(None)])
    with pytest.raises(ValueError, match="feature 1 has no id_field 'nr'"):
        make(path, id_field="nr").load()


def test_fields_are_inferred_from_all_properties(tmp_path: Path) -> None:
    features = [
        feature(None, anzahl=1, hoehe=2, name="Linde", aktiv=True, extra={"a": 1}),
        feature(None, anzahl=None, hoehe=2.5, name=3, aktiv=False, spaet="x"),
    ]
    description, _ = make(write(tmp_path, features)).load()
    assert {f.name: f.type for f in description.fields} == {
        "anzahl": "integer",
        "hoehe": "number",
        "name": "string",
        "aktiv": "boolean",
        "extra": "json",
        "spaet": "string",
    }


def test_mixed_and_missing_geometries(tmp_path: Path) -> None:
    line = {"type": "LineString", "coordinates": [[9, 53], [10, 54]]}
    path = write(tmp_path, [feature(point(9, 53)), feature(line), feature(None)])
    description, records = make(path).load()
    assert description.geometry_type == "Geometry"
    assert records[2]["geometry"] is None
    assert description.bbox == (9.0, 53.0, 10.0, 54.0)
    empty, _ = make(write(tmp_path, [feature(None)])).load()
    assert empty.geometry_type is None and empty.bbox is None


def test_latin1_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "data.geojson"
    doc = {"type": "FeatureCollection", "features": [feature(None, strasse="Große Straße")]}
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    assert make(path, encoding="latin-1").load()[1][0]["properties"]["strasse"] == "Große Straße"
    with pytest.raises(ValueError, match="not utf-8 text"):
        make(path).load()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "GeoJSON file not found"),
        ("{not json", "not valid JSON"),
        ('{"type": "Feature", "geometry": null}', "not a GeoJSON FeatureCollection"),
        ("[1, 2]", "not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection"}', "has no 'features' array"),
        ('{"type": "FeatureCollection", "features": [5]}', "feature 0 is not a JSON object"),
        (
            '{"type": "FeatureCollection", "features": [{"geometry": {"type": "Point"}}]}',
            "feature 0 has an invalid geometry",
        ),
        (
            '{"type": "FeatureCollection", "features": [], "crs": {"properties": {"name": "x"}}}',
            "unknown CRS 'x'",
        ),
    ],
)
def test_bad_files_raise_value_errors_naming_the_file(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "kaputt.geojson"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        make(path).load()
    assert str(path) in str(error.value)


def test_config_rejects_unknown_crs_and_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="unknown CRS"):
        GeoJSONConnector.Config(path="a.geojson", crs="EPSG:999999")
    with pytest.raises(ValidationError):
        GeoJSONConnector.Config(path="a.geojson", srs="EPSG:25832")


@pytest.mark.anyio
async def test_query_and_get_through_the_file_contract(tmp_path: Path) -> None:
    path = write(tmp_path, [feature(point(9, 53), f"b{i}") for i in range(5)])
    connector = make(path)
    result = await connector.query(SourceQuery(limit=2, offset=1))
    assert [r["id"] async for r in result.records] == ["b1", "b2"]
    assert result.number_matched == 5
    assert (await connector.get("b3"))["id"] == "b3"
