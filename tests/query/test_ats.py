"""The CQL2 abstract test suite's data (Natural Earth places, countries, rivers) with
queries and expected counts from the suite's tables: the reference evaluation must find
exactly those counts, and SQLite (the real GeoPackage) and PostGIS (the layers loaded in
EPSG:4326, and the countries again in EPSG:3857) must select the very same features.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import shapely

from connectors.filters import Unsupported
from connectors.sqlfilter import compile_sql
from gateway.query.cql2 import field_types, parse
from gateway.query.evaluate import compile_predicate
from tests.query.conftest import ATS_GPKG, PG, read_layer

PLACES = "ne_110m_populated_places_simple"
COUNTRIES = "ne_110m_admin_0_countries"
RIVERS = "ne_110m_rivers_lake_centerlines"
_SCHEMA = {
    "INTEGER": {"type": "integer"},
    "REAL": {"type": "number"},
    "BOOLEAN": {"type": "boolean"},
    "DATE": {"type": "string", "format": "date"},
    "DATETIME": {"type": "string", "format": "date-time"},
}
_PG_TYPES = {"INTEGER": "bigint", "REAL": "float8", "BOOLEAN": "boolean"}
_PG_TYPES |= {"DATE": "date", "DATETIME": "timestamp"}

CASES: dict[str, list[tuple[str, int]]] = {
    PLACES: [
        ("name IS NOT NULL", 243),
        ("pop_other=1038288", 1),
        ("pop_other>=1038288", 123),
        ("pop_other<>1038288", 242),
        ("name>='København'", 137),
        ("name<'København'", 106),
        ('"date" IS NULL', 240),
        ("\"date\">=DATE('2022-04-16')", 2),
        ("\"date\"<>DATE('2022-04-16')", 2),
        ("start<TIMESTAMP('2022-04-16T10:13:19Z')", 1),
        ("start>=TIMESTAMP('2022-04-16T10:13:19Z')", 2),
        ("boolean=true", 2),
        ("boolean=false", 1),
        ("name LIKE 'B_r%'", 3),
        ("name NOT LIKE 'B_r%'", 240),
        ("pop_other between 1000000 and 3000000", 75),
        ("pop_other not between 1000000 and 3000000", 168),
        ("name IN ('Kiev','kobenhavn','Berlin','athens','foo')", 2),
        ("name NOT IN ('Kiev','kobenhavn','Berlin','athens','foo')", 241),
        ("pop_other in (1038288,1611692,3013258,3013257,3013259)", 3),
        ("\"date\" in (DATE('2021-04-16'),DATE('2022-04-16'),DATE('2022-04-18'))", 2),
        ("\"date\" not in (DATE('2021-04-16'),DATE('2022-04-16'),DATE('2022-04-18'))", 1),
        ("start not in (TIMESTAMP('2022-04-16T10:13:19Z'))", 2),
        ("boolean not in (false)", 2),
        ("CASEI(name)=casei('KØBENHAVN')", 1),
        ("CASEI(name) LIKE casei('b_r%')", 3),
        ("ACCENTI(name)=accenti('Chisinau')", 1),
        ("ACCENTI(CASEI(name))=accenti(casei('CHIȘINĂU'))", 1),
        ("ACCENTI(name) LIKE accenti('Ch%')", 3),
        ("'København'<=name", 137),
        ("name<>nameascii", 13),
        ("name>nameascii", 13),
        ("pop_min<pop_max", 216),
        ("start<=end", 3),
        ("start<>end", 3),
        ("'København' LIKE 'K_benhavn'", 243),
        ("pop_other between pop_min and pop_max", 94),
        ("pop_other not between pop_min and pop_max", 149),
        ("pop_other=1038280+8", 1),
        ("pop_other>=1038290-2*2^0", 123),
        ("pop_other>1038290-21 div 10", 122),
        ("pop_other>1038290-5%2", 122),
        ("pop_other between 4000000/4 and (3*(900000+100000))", 75),
        ("1038280+8=pop_other", 1),
        ("S_INTERSECTS(geom,BBOX(0,40,10,50))", 7),
        ("S_DISJOINT(POLYGON((0 40,10 40,10 50,0 50,0 40)),geom)", 236),
        ("S_EQUALS(POINT(6.1300028 49.6116604),geom)", 1),
        ("S_WITHIN(geom,BBOX(-180,-90,0,90))", 74),
        ("t_after(\"date\",date('2022-04-16'))", 1),
        ("t_disjoint(\"date\",date('2022-04-16'))", 2),
        ("t_equals(\"date\",interval('2022-04-16','2022-04-16'))", 1),
        ("t_intersects(\"date\",interval('2022-01-01','2022-12-31'))", 1),
        ("T_AFTER(\"date\",INTERVAL('2021-01-01','2021-12-31'))", 2),
        ("t_before(start,timestamp('2022-04-16T10:13:19Z'))", 1),
        ("t_intersects(start,interval('2022-01-01T00:00:00Z','2022-12-31T23:59:59Z'))", 2),
        ("T_DISJOINT(start,TIMESTAMP('2022-04-24T07:59:57Z'))", 3),
        ("t_after(interval(start,end),interval('..','2022-04-16T10:13:19Z'))", 1),
        ("t_before(interval(start,end),interval('2023-01-01T00:00:00Z','..'))", 2),
        (
            "t_equals(interval(start,end),interval('2021-04-16T10:15:59Z','2022-04-16T10:16:06Z'))",
            1,
        ),
        (
            "T_CONTAINS(interval(start,end),interval('2022-04-16T10:13:19Z','2022-04-16T10:15:10Z'))",
            1,
        ),
        (
            "T_DURING(interval(start,end),interval('2022-01-01T00:00:00Z','2022-12-31T23:59:59Z'))",
            1,
        ),
        (
            "T_FINISHES(interval(start,end),interval('2020-04-16T10:13:19Z','2022-04-16T10:16:06Z'))",
            1,
        ),
        ("T_METBY(interval(start,end),interval('2022-04-16T10:13:19Z','2022-04-16T10:15:10Z'))", 1),
        (
            "T_OVERLAPPEDBY(interval(start,end),interval('2020-04-16T10:13:19Z','2022-04-16T10:15:10Z'))",
            2,
        ),
        (
            "T_OVERLAPS(interval(start,end),interval('2022-04-16T10:13:19Z','2023-04-16T10:15:10Z'))",
            1,
        ),
        (
            "T_STARTEDBY(interval(start,end),interval('2022-04-16T10:13:19Z','2022-04-16T10:15:10Z'))",
            1,
        ),
        (
            "T_STARTS(interval('2022-04-16T10:13:19Z','2022-04-16T10:15:10Z'),interval(start,end))",
            1,
        ),
    ],
    COUNTRIES: [
        ("NAME='Luxembourg'", 1),
        ("NAME>='Luxembourg'", 84),
        ("POP_EST>=37589262", 39),
        ("POP_EST<>37589262", 176),
        ("S_INTERSECTS(geom,BBOX(0,40,10,50))", 8),
        ("S_INTERSECTS(geom,BBOX(150,-90,-150,90))", 10),
        ("S_INTERSECTS(geom,POINT(7.02 49.92))", 1),
        ("S_INTERSECTS(geom,LINESTRING(0 40,10 50))", 4),
        ("S_DISJOINT(geom,BBOX(0,40,10,50))", 169),
        ("S_DISJOINT(geom,LINESTRING(0 40,10 50))", 173),
        ("S_TOUCHES(geom,POINT(6.043073357781111 50.128051662794235))", 3),
        ("S_TOUCHES(geom,POINT(6.242751092156993 49.90222565367873))", 2),
        ("S_WITHIN(geom,BBOX(-180,-90,0,90))", 44),
        ("S_CONTAINS(geom,BBOX(7,50,8,51))", 1),
        ("S_CONTAINS(geom,LINESTRING(7 50,8 51))", 1),
        ("S_CONTAINS(geom,POINT(7.02 49.92))", 1),
        ("S_OVERLAPS(geom,BBOX(-180,-90,0,90))", 11),
        ("S_INTERSECTS(geom,LINESTRING(-180 -45, 0 -45))", 2),
        ("S_INTERSECTS(geom,MULTILINESTRING((-180 -45, 0 -45), (0 45, 180 45)))", 14),
        (
            "S_INTERSECTS(geom,GEOMETRYCOLLECTION(POINT(7.02 49.92), "
            "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))))",
            8,
        ),
    ],
    RIVERS: [
        ("S_INTERSECTS(geom,BBOX(-180,-90,0,90))", 4),
        ("S_INTERSECTS(geom,LINESTRING(-60 -90,-60 90))", 2),
        ("S_DISJOINT(geom,BBOX(-180,-90,0,90))", 9),
        ("S_CROSSES(geom,BBOX(0,40,10,50))", 1),
        ("S_CROSSES(geom,LINESTRING(-60 -90,-60 90))", 2),
        ("S_WITHIN(geom,BBOX(-180,-90,0,90))", 4),
    ],
}


class Layer:
    def __init__(self, table: str) -> None:
        self.table = table
        self.columns, self.features = read_layer(table)
        self.queryables: dict[str, dict[str, Any]] = {
            name: _SCHEMA.get(kind.split("(")[0], {"type": "string"}) for name, kind in self.columns
        }
        self.queryables["geom"] = {"format": "geometry-any", "x-ogc-role": "primary-geometry"}
        self.types = field_types(self.queryables)

    def evaluate(self, text: str) -> set[int]:
        test = compile_predicate(parse(text, None, self.queryables), types=self.types)
        return {f["id"] for f in self.features if test(f)}

    def sql(self, text: str, dialect: str, srid: int = 4326) -> tuple[str, list[Any]]:
        expr = parse(text, None, self.queryables)
        where, params = compile_sql(
            expr,
            dialect,
            lambda c: f'"{c}"',
            '"geom"',
            types=self.types,
            srid=srid,  # type: ignore[arg-type]
        )
        return where, params


LAYERS = {table: Layer(table) for table in CASES}
ALL = [(table, text, n) for table, cases in CASES.items() for text, n in cases]


def _compiles(table: str, text: str, dialect: str, srid: int = 4326) -> bool:
    try:
        LAYERS[table].sql(text, dialect, srid)
    except Unsupported:
        return False
    return True


IN_SQLITE = [c for c in ALL if _compiles(c[0], c[1], "sqlite")]
IN_POSTGIS = [c for c in ALL if _compiles(c[0], c[1], "postgis")]
IN_3857 = [c for c in CASES[COUNTRIES] if _compiles(COUNTRIES, c[0], "postgis", 3857)]
# S_TOUCHES and S_EQUALS hold on shared coordinates, which the countries copied into EPSG:3857
# keep only to a rounding error: there they are compared with the CRS84 reference in no path
NEAR_3857 = [c for c in IN_3857 if not c[0].startswith(("S_TOUCHES", "S_EQUALS"))]


@pytest.mark.parametrize(("table", "text", "expected"), ALL, ids=[c[1][:60] for c in ALL])
def test_reference_evaluation_finds_the_suites_counts(table: str, text: str, expected: int):
    assert len(LAYERS[table].evaluate(text)) == expected


@pytest.mark.parametrize(
    ("table", "text", "expected"), IN_SQLITE, ids=[c[1][:60] for c in IN_SQLITE]
)
def test_sqlite_on_the_geopackage_selects_the_same_features(table, text, expected):
    layer = LAYERS[table]
    where, params = layer.sql(text, "sqlite")
    conn = sqlite3.connect(f"{ATS_GPKG.as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(f'SELECT fid FROM "{table}" WHERE {where}', params).fetchall()
    finally:
        conn.close()
    assert {r[0] for r in rows} == layer.evaluate(text)


def test_only_spatial_and_insensitive_cases_stay_in_the_gateway():
    """SQLite keeps spatial, CASEI and ACCENTI terms residual; PostGIS only the latter two,
    in any SRID (a column in another one is transformed, as the gateway transforms it)."""
    residual = {c[1] for c in ALL} - {c[1] for c in IN_SQLITE}
    assert all(t.upper().startswith(("S_", "CASEI", "ACCENTI")) for t in residual)
    residual = {c[1] for c in ALL} - {c[1] for c in IN_POSTGIS}
    assert all(t.upper().startswith(("CASEI", "ACCENTI")) for t in residual)
    assert CASES[COUNTRIES] == IN_3857


def _pg_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "DATE":
        return date.fromisoformat(value)
    if kind == "DATETIME":
        return datetime.fromisoformat(value)
    return value


@pytest.fixture(scope="module")
def ats_pg(pg: PG) -> Iterator[PG]:
    """The three layers in EPSG:4326, the countries also as `..._3857` in EPSG:3857."""
    for layer in LAYERS.values():
        kinds = dict(layer.columns)
        cols = ", ".join(
            f'"{c}" {_PG_TYPES.get(t.split("(")[0], "text")}' for c, t in kinds.items()
        )
        for srid in (4326, 3857):
            name = layer.table if srid == 4326 else f"{layer.table}_3857"
            pg.execute(f'CREATE TABLE "{name}" ({cols}, geom geometry(Geometry, {srid}))')
            marks = ", ".join(f"${i}" for i in range(1, len(kinds) + 2))
            geom = f"ST_Transform(ST_GeomFromWKB(${len(kinds) + 1}, 4326), {srid})"
            marks = marks.rsplit(",", 1)[0] + f", {geom}"
            rows = [
                (
                    *(_pg_value(kinds[c], f["properties"][c]) for c in kinds),
                    shapely.to_wkb(shapely.geometry.shape(f["geometry"])),
                )
                for f in layer.features
            ]
            pg.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
    yield pg


@pytest.mark.integration
@pytest.mark.parametrize(
    ("table", "text", "expected"), IN_POSTGIS, ids=[c[1][:60] for c in IN_POSTGIS]
)
def test_postgis_selects_the_same_features(ats_pg: PG, table: str, text: str, expected: int):
    layer = LAYERS[table]
    where, params = layer.sql(text, "postgis")
    rows = ats_pg.fetch(f'SELECT fid FROM "{table}" WHERE {where}', *params)
    assert {r["fid"] for r in rows} == layer.evaluate(text)


@pytest.mark.integration
@pytest.mark.parametrize(("text", "expected"), NEAR_3857)
def test_postgis_in_another_srid_compares_in_crs84(ats_pg: PG, text: str, expected: int):
    layer = LAYERS[COUNTRIES]
    where, params = layer.sql(text, "postgis", srid=3857)
    rows = ats_pg.fetch(f'SELECT fid FROM "{COUNTRIES}_3857" WHERE {where}', *params)
    assert {r["fid"] for r in rows} == layer.evaluate(text)
