"""PostgreSQL/PostGIS for tests: one throw-away database per test session.

The database is called `twinbridge_test_<pid>_<random>` (so pytest-xdist workers never
share one), gets the PostGIS extension and the tables below, and is dropped at the end.
The server defaults to the machine's (127.0.0.1:5432, user postgres); set
TWINBRIDGE_TEST_PG to another maintenance-database URI. When the server or the extension
is missing the tests are skipped locally and fail in CI (tests.conftest.missing_service).

Tables:
- `baeume`: six Hamburg trees in EPSG:25832 with city field names and one column of every
  type the connector converts (numeric, real, date, timestamps, jsonb, array, uuid, bytea);
- `welt`: points in EPSG:4326 on both sides of the antimeridian;
- `trees`: 2,000 trees from scripts/load_postgis_trees.py (profile column names, 25832);
- `baeume_langsam`: a view over `baeume` that sleeps 0.2 s per row (statement timeouts).

Import the fixtures into a test module: `postgis` (the database), `baeume` and `trees` (open
connectors with exact counts); `make`, `run` and `ids` are the helpers around them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from connectors.base import Record, SourceQuery
from connectors.postgis import PostGISConnector
from tests.conftest import missing_service

ADMIN_DSN = os.environ.get("TWINBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
LOADER = Path(__file__).resolve().parent.parent / "scripts" / "load_postgis_trees.py"
TREE_COUNT = 2000
# the columns of `trees` besides fid and geom: the street-trees profile's own names
TREE_COLUMNS = (
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
)

# baumid -> (easting, northing) in EPSG:25832; None: a tree without geometry
BAEUME: dict[int, tuple[float, float] | None] = {
    1: (566000.0, 5934000.0),  # Rathaus
    2: (566500.0, 5935500.0),  # Alster
    3: (561500.0, 5933500.0),  # Altona
    4: (565000.0, 5925000.0),  # Harburg
    5: (580000.0, 5926000.0),  # Bergedorf
    6: None,
}
_BAEUME_SQL = """
CREATE TABLE baeume (
  baumid integer PRIMARY KEY,
  art_latein text NOT NULL,
  gattung varchar(40),
  pflanzjahr smallint,
  hoehe numeric(4,1),
  krone real,
  stand date,
  geprueft timestamptz,
  erfasst timestamp,
  geschuetzt boolean,
  extra jsonb,
  tags text[],
  uid uuid,
  foto bytea,
  geom geometry(Point, 25832)
);
COMMENT ON COLUMN baeume.hoehe IS 'Baumhöhe in m';
INSERT INTO baeume VALUES
 (1, 'Tilia cordata', 'Tilia', 1990, 12.5, 8.3, '2024-03-01', '2024-03-01 10:15:00+01',
  '2024-03-01 10:15:00', true, '{"pflege": "A", "n": 1}', '{alt,gross}',
  '00000000-0000-0000-0000-000000000001', '\\x00ff', NULL),
 (2, 'Quercus robur', 'Quercus', 1975, 20.0, 12.1, '2023-11-15', NULL, NULL, false,
  NULL, '{}', NULL, NULL, NULL),
 (3, 'Acer platanoides', 'Acer', NULL, 8.2, NULL, '2024-01-02', NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL),
 (4, 'Betula pendula', 'Betula', 2001, NULL, 4.0, '2022-06-30', NULL, NULL, true,
  NULL, NULL, NULL, NULL, NULL),
 (5, 'Aesculus hippocastanum', 'Aesculus', 1960, 18.0, 11.5, '2021-09-09', NULL, NULL,
  false, NULL, NULL, NULL, NULL, NULL),
 (6, 'Betula pendula', 'Betula', 2020, 5.0, 2.0, '2024-05-05', NULL, NULL, false,
  NULL, NULL, NULL, NULL, NULL);
CREATE INDEX ON baeume USING gist (geom);
CREATE VIEW baeume_langsam AS
  SELECT b.* FROM baeume b, LATERAL (SELECT pg_sleep(0.2)) s;
CREATE TABLE welt (id text PRIMARY KEY, name text, geom geometry(Point, 4326));
INSERT INTO welt VALUES
 ('fj', 'Fiji east of 180', ST_SetSRID(ST_MakePoint(179.5, -17.0), 4326)),
 ('ws', 'Samoa west of 180', ST_SetSRID(ST_MakePoint(-172.0, -13.8), 4326)),
 ('ki', 'Kiribati on 180', ST_SetSRID(ST_MakePoint(-179.9, 0.5), 4326)),
 ('hh', 'Hamburg', ST_SetSRID(ST_MakePoint(10.0, 53.55), 4326)),
 ('nz', 'Wellington', ST_SetSRID(ST_MakePoint(174.78, -41.29), 4326));
CREATE INDEX ON welt USING gist (geom);
ANALYZE;
"""


@dataclass(frozen=True)
class PostGIS:
    """A test database: its URI and the parts a connector config wants."""

    dsn: str
    host: str
    port: int
    user: str
    database: str

    def options(self, table: str, **more: Any) -> dict[str, Any]:
        """A `source:` block for the postgis connector (without `connector:`)."""
        login = {"host": self.host, "port": self.port, "user": self.user}
        return {"database": self.database, **login, "table": table, **more}


def loader() -> ModuleType:
    """scripts/load_postgis_trees.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("load_postgis_trees", LOADER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _create(name: str) -> str:
    admin = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    load = loader()
    dsn = load.with_database(ADMIN_DSN, name)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute("CREATE EXTENSION postgis")
        await conn.execute(_BAEUME_SQL)
        await conn.executemany(
            "UPDATE baeume SET geom = ST_SetSRID(ST_MakePoint($2, $3), 25832) WHERE baumid = $1",
            [(fid, *xy) for fid, xy in BAEUME.items() if xy is not None],
        )
        rows = load.tree_rows(TREE_COUNT, srid=25832)
        await load.load_table(conn, rows, table="trees", srid=25832)
    finally:
        await conn.close()
    return dsn


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session", name="postgis")
def postgis_fixture() -> Iterator[PostGIS]:
    name = f"twinbridge_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        dsn = asyncio.run(_create(name))
    except (OSError, TimeoutError, asyncpg.PostgresError) as e:
        asyncio.run(_drop_quietly(name))
        missing_service(f"PostgreSQL with PostGIS at {_server(ADMIN_DSN)}: {e}")
        return
    parts = urlsplit(dsn)
    try:
        yield PostGIS(
            dsn=dsn,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            database=name,
        )
    finally:
        asyncio.run(_drop(name))


async def _drop_quietly(name: str) -> None:
    with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError):
        await _drop(name)


def make(db: PostGIS, table: str, **options: Any) -> PostGISConnector:
    """A connector for a table of the test database (opened by the caller)."""
    config = PostGISConnector.Config.model_validate(db.options(table, **options))
    return PostGISConnector(config, base_dir=Path("."), name=f"test/{table}")


@pytest.fixture(name="baeume")
async def baeume_connector(postgis: PostGIS) -> AsyncIterator[PostGISConnector]:
    connector = make(postgis, "baeume", count="exact")
    await connector.open()
    yield connector
    await connector.close()


@pytest.fixture(name="trees")
async def trees_connector(postgis: PostGIS) -> AsyncIterator[PostGISConnector]:
    connector = make(postgis, "trees", count="exact", pool_max_size=2)
    await connector.open()
    yield connector
    await connector.close()


async def run(connector: PostGISConnector, q: SourceQuery) -> tuple[list[Record], int | None]:
    """A query's records (all of them) and its number_matched."""
    result = await connector.query(q)
    return [r async for r in result.records], result.number_matched


def ids(records: list[Record]) -> list[Any]:
    return [r["id"] for r in records]


def _server(dsn: str) -> str:
    parts = urlsplit(dsn)
    return f"{parts.hostname}:{parts.port or 5432}"


__all__ = [
    "BAEUME",
    "TREE_COUNT",
    "PostGIS",
    "baeume_connector",
    "ids",
    "loader",
    "make",
    "postgis_fixture",
    "run",
    "trees_connector",
]
