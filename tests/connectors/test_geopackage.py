"""GeoPackage connector: metadata, blob decoding, CRS84 output, bbox via R-tree, paging."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest
import shapely
from gpkg_fixture import TREES, UTM32, gpkg_blob, write_gpkg
from pyproj import Transformer

from connectors.base import Record, SourceQuery
from connectors.geopackage import GeoPackageConnector, decode_geometry, field_type

pytestmark = pytest.mark.anyio
TO84 = Transformer.from_crs("EPSG:25832", "OGC:CRS84", always_xy=True)
LONLAT = {fid: TO84.transform(*xy) for fid, xy in TREES.items() if xy is not None}


def make(path: Path, **options: object) -> GeoPackageConnector:
    config = GeoPackageConnector.Config(path=path.name, table="baeume", **options)
    return GeoPackageConnector(config, base_dir=path.parent, name="hh/baeume")


@pytest.fixture
def gpkg(tmp_path: Path) -> Path:
    return write_gpkg(tmp_path / "baeume.gpkg")


@pytest.fixture
async def conn(gpkg: Path) -> GeoPackageConnector:
    connector = make(gpkg)
    await connector.open()
    yield connector
    await connector.close()


async def run(connector: GeoPackageConnector, **query: object) -> tuple[list[Record], int | None]:
    result = await connector.query(SourceQuery(**query))
    return [r async for r in result.records], result.number_matched


def ids(records: list[Record]) -> list[int]:
    return [r["id"] for r in records]


def expected_in(bbox: tuple[float, float, float, float]) -> list[int]:
    """Oracle: which fixture points lie in a CRS84 box (antimeridian-aware)."""
    minx, miny, maxx, maxy = bbox
    inside_x = (lambda x: minx <= x <= maxx) if minx <= maxx else (lambda x: x >= minx or x <= maxx)
    return sorted(f for f, (x, y) in LONLAT.items() if inside_x(x) and miny <= y <= maxy)


async def test_describe_maps_declared_types_skips_blobs_and_names_storage_crs(conn) -> None:
    d = await conn.describe()
    assert {f.name: f.type for f in d.fields} == {
        "fid": "integer",
        "art": "string",
        "hoehe": "number",
        "pflanzdatum": "date",
        "geprueft": "datetime",
        "geschuetzt": "boolean",
    }
    assert d.storage_crs == "http://www.opengis.net/def/crs/EPSG/0/25832"
    assert d.geometry_type == "Point"
    assert d.id_field == "fid"
    minx, miny, maxx, maxy = d.bbox
    for x, y in LONLAT.values():
        assert minx <= x <= maxx and miny <= y <= maxy
    assert minx == pytest.approx(min(x for x, _ in LONLAT.values()), abs=0.02)
    assert maxy == pytest.approx(max(y for _, y in LONLAT.values()), abs=0.02)


async def test_get_transforms_rathaus_to_crs84_and_keeps_source_values(conn) -> None:
    record = await conn.get("1")
    x, y = record["geometry"]["coordinates"]
    assert record["geometry"]["type"] == "Point"
    assert x == pytest.approx(9.9962, abs=1e-4) and y == pytest.approx(53.5507, abs=1e-4)
    assert record["id"] == 1
    assert record["properties"] == {
        "fid": 1,
        "art": "Linde",
        "hoehe": 12.5,
        "pflanzdatum": "1990-04-01",
        "geprueft": "2024-06-01T10:00:00Z",
        "geschuetzt": True,
    }


async def test_get_decodes_every_header_variant_to_the_same_point(conn) -> None:
    for fid, (x, y) in LONLAT.items():
        record = await conn.get(str(fid))
        assert record["geometry"]["coordinates"] == pytest.approx([x, y], abs=1e-6)


async def test_get_returns_none_for_unknown_or_non_integer_ids(conn) -> None:
    assert await conn.get("99") is None
    assert await conn.get("abc") is None
    assert (await conn.get("6"))["geometry"] is None


async def test_id_field_option_selects_another_column(gpkg: Path) -> None:
    connector = make(gpkg, id_field="art")
    record = await connector.get("Eiche")
    assert record["id"] == "Eiche" and record["properties"]["fid"] == 2
    assert (await connector.describe()).id_field == "art"
    await connector.close()


async def test_paging_without_bbox_runs_in_sql_in_id_order(conn) -> None:
    records, matched = await run(conn, limit=2, offset=1, want_count=True)
    assert ids(records) == [2, 3]
    assert matched == 6
    assert ids((await run(conn))[0]) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("bbox", [None, (9.0, 53.0, 11.0, 54.0), (179.0, 53.0, 10.1, 54.0)])
async def test_pages_concatenate_to_the_full_result_and_match_the_count(conn, bbox) -> None:
    everything, total = await run(conn, bbox=bbox, want_count=True)
    assert total == len(everything)
    for limit in (1, 2, 4):
        pages = []
        for offset in range(0, total + limit, limit):
            page, matched = await run(conn, bbox=bbox, limit=limit, offset=offset, want_count=True)
            assert matched == total
            pages += page
        assert ids(pages) == ids(everything)


async def test_bbox_returns_exactly_the_points_inside(conn) -> None:
    records, matched = await run(conn, bbox=(9.98, 53.54, 10.01, 53.57), want_count=True)
    assert ids(records) == [1, 2] and matched == 2


async def test_bbox_exact_test_drops_rtree_candidates_just_outside(conn) -> None:
    lon, lat = LONLAT[1]  # the Rathaus lies 1e-5 degrees west of this box
    records, _ = await run(conn, bbox=(lon + 1e-5, lat - 0.001, 10.01, 53.57))
    assert ids(records) == [2]


async def test_bbox_across_the_antimeridian_finds_nothing_in_germany(conn) -> None:
    records, matched = await run(conn, bbox=(170.0, -10.0, -170.0, 10.0), want_count=True)
    assert records == [] and matched == 0


async def test_bbox_across_the_antimeridian_reaching_hamburg_matches_its_west_part(conn) -> None:
    records, matched = await run(conn, bbox=(179.0, 53.0, 10.1, 54.0), want_count=True)
    assert ids(records) == [1, 2, 3, 4] and matched == 4


@pytest.mark.parametrize("rtree", [True, False])
@pytest.mark.parametrize(
    "bbox",
    [
        (9.9, 53.5, 10.1, 53.6),
        (9.95, 53.4, 10.3, 53.55),
        (10.2, 53.47, 10.21, 53.48),
        (-180.0, -90.0, 180.0, 90.0),
        (9.0, 60.0, 11.0, 61.0),
        (10.0, 53.0, 9.95, 54.0),
    ],
)
async def test_bbox_results_match_an_independent_oracle(tmp_path: Path, rtree, bbox) -> None:
    connector = make(write_gpkg(tmp_path / "b.gpkg", rtree=rtree))
    records, matched = await run(connector, bbox=bbox, want_count=True)
    assert ids(records) == expected_in(bbox) and matched == len(records)
    await connector.close()


async def test_bbox_without_want_count_may_stop_early_but_pages_correctly(conn) -> None:
    records, matched = await run(conn, bbox=(9.0, 53.0, 11.0, 54.0), limit=2, offset=1)
    assert ids(records) == [2, 3]
    assert matched in (None, 5)


def test_capabilities_declare_bbox_paging_and_count(gpkg: Path) -> None:
    caps = make(gpkg).capabilities()
    assert caps.bbox and caps.paging and caps.count


async def test_unknown_table_names_the_feature_tables(gpkg: Path) -> None:
    connector = GeoPackageConnector(
        GeoPackageConnector.Config(path=str(gpkg), table="strassen"), base_dir=Path("/"), name="x"
    )
    with pytest.raises(ValueError, match="no feature table 'strassen'.*baeume"):
        await connector.describe()


async def test_unknown_id_field_is_refused(gpkg: Path) -> None:
    with pytest.raises(ValueError, match="no column 'nummer'"):
        await make(gpkg, id_field="nummer").describe()


async def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"fehlt\.gpkg: GeoPackage file not found"):
        await make(tmp_path / "fehlt.gpkg").open()


async def test_non_geopackage_files_are_refused_with_their_name(tmp_path: Path) -> None:
    text = tmp_path / "text.gpkg"
    text.write_text("not a database at all, just some text" * 10)
    plain = tmp_path / "plain.gpkg"
    sqlite3.connect(plain).execute("CREATE TABLE t (a)").connection.close()
    for path in (text, plain):
        with pytest.raises(ValueError, match=rf"{path.name}: not a readable GeoPackage"):
            await make(path).describe()


async def test_health_reports_a_broken_file(tmp_path: Path) -> None:
    health = await make(tmp_path / "fehlt.gpkg").health()
    assert not health.ok and "not found" in health.detail


def test_decode_geometry_reads_byte_order_envelopes_and_empty_flag() -> None:
    point = shapely.Point(1.5, 2.5)
    for envelope in (True, False):
        for little in (True, False):
            srs_id, wkb = decode_geometry(gpkg_blob(point, UTM32, envelope=envelope, little=little))
            assert srs_id == UTM32 and shapely.from_wkb(wkb).equals(point)
    xyzm = b"GP\x00" + bytes([0b1001]) + struct.pack("<i", 4326) + struct.pack("<8d", *range(8))
    assert decode_geometry(xyzm + shapely.to_wkb(point))[1] == shapely.to_wkb(point)
    assert decode_geometry(gpkg_blob(shapely.Point(), 0, envelope=False, little=True)) is None
    assert decode_geometry(None) is None
    with pytest.raises(ValueError, match="not a GeoPackage geometry"):
        decode_geometry(shapely.to_wkb(point))
    with pytest.raises(ValueError, match="envelope"):
        decode_geometry(b"GP\x00" + bytes([0b1011]) + bytes(4))


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INTEGER", "integer"),
        ("MEDIUMINT", "integer"),
        ("REAL", "number"),
        ("DOUBLE", "number"),
        ("TEXT(40)", "string"),
        ("", "string"),
        ("DATE", "date"),
        ("DATETIME", "datetime"),
        ("BOOLEAN", "boolean"),
        ("BLOB", None),
        ("MULTIPOLYGON", None),
    ],
)
def test_field_type_maps_sqlite_declared_types(declared: str, expected: str | None) -> None:
    assert field_type(declared) == expected


async def test_close_then_query_reopens(conn) -> None:
    await conn.close()
    assert (await conn.get("2"))["properties"]["art"] == "Eiche"


async def test_small_bbox_asks_the_rtree_instead_of_scanning(conn) -> None:
    await conn.describe()
    statements: list[str] = []
    conn._conn.set_trace_callback(statements.append)
    await run(conn, bbox=(9.98, 53.54, 10.01, 53.57))
    assert any('FROM "rtree_baeume_geom" WHERE' in s for s in statements)
    assert not any("IS NOT NULL" in s for s in statements)  # the full-scan fallback
