"""Fixtures for the filter core: the CQL2 test data set and a throw-away PostGIS database.

The database `twinbridge_test_query_<pid>_<random>` (one per xdist worker) is created on
the machine's PostgreSQL (TWINBRIDGE_TEST_PG overrides the maintenance URI) and dropped at
the end; without a server the PostGIS tests skip locally and fail in CI.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import shapely

from connectors.geopackage import decode_geometry
from tests.conftest import missing_service

ATS_GPKG = Path("/work/shared/data/cql2-ats/ne110m4cql2.gpkg")
ADMIN_DSN = os.environ.get("TWINBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class PG:
    """A synchronous face on one asyncpg connection (tests here are plain functions)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: asyncpg.Connection) -> None:
        self.loop, self.conn = loop, conn

    def fetch(self, sql: str, *params: Any) -> list[asyncpg.Record]:
        return self.loop.run_until_complete(self.conn.fetch(sql, *params))

    def execute(self, sql: str, *params: Any) -> None:
        self.loop.run_until_complete(self.conn.execute(sql, *params))

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.loop.run_until_complete(self.conn.executemany(sql, rows))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg() -> Iterator[PG]:
    name = f"twinbridge_test_query_{os.getpid()}_{secrets.token_hex(4)}"
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as e:
        loop.close()
        missing_service(f"PostgreSQL at {ADMIN_DSN.rsplit('@', 1)[-1]}: {e}")
    dsn = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        conn = loop.run_until_complete(
            asyncpg.connect(dsn, timeout=5, server_settings={"timezone": "UTC"})
        )
        loop.run_until_complete(conn.execute("CREATE EXTENSION IF NOT EXISTS postgis"))
    except (OSError, TimeoutError, asyncpg.PostgresError) as e:
        loop.run_until_complete(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        loop.close()
        missing_service(f"PostGIS in PostgreSQL at {ADMIN_DSN.rsplit('@', 1)[-1]}: {e}")
    try:
        yield PG(loop, conn)
    finally:
        loop.run_until_complete(conn.close())
        loop.run_until_complete(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        loop.close()


def read_layer(table: str) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """A layer of the CQL2 test data as (columns, features), read with sqlite3 + shapely."""
    conn = sqlite3.connect(f"{ATS_GPKG.as_uri()}?mode=ro", uri=True)
    try:
        info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        columns = [(r[1], str(r[2]).upper()) for r in info if r[1] != "geom"]
        names = ", ".join(f'"{c}"' for c, _ in columns)
        rows = conn.execute(f'SELECT {names}, geom FROM "{table}" ORDER BY fid').fetchall()
    finally:
        conn.close()
    features = []
    for row in rows:
        decoded = decode_geometry(row[-1])
        geometry = shapely.from_wkb(decoded[1]) if decoded else None
        props = {
            c: bool(v) if t == "BOOLEAN" and v is not None else v
            for (c, t), v in zip(columns, row, strict=False)
        }
        features.append(
            {
                "id": props["fid"],
                "properties": props,
                "geometry": shapely.geometry.mapping(geometry) if geometry is not None else None,
            }
        )
    return columns, features
