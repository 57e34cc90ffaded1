"""The PostgreSQL driver (asyncpg): the same plans as SQLite, one schema per tenant.

Reads run in a read-only REPEATABLE READ transaction (one snapshot for a page, its count
and its expands), writes in one transaction each, answered after its COMMIT. The geometry
functions use PostGIS, installed on first start when the role may; without it they answer
501.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import asyncpg

from gateway.errors import InvalidParameter
from gateway.sensorthings.errors import NotImplementedYet
from gateway.sensorthings.store.dialect import POSTGRES
from gateway.sensorthings.store.plan import Plan, Rows, Stmt, run_async
from gateway.sensorthings.store.refusals import invalid_data, too_complex, too_many_values
from gateway.sensorthings.store.schema import SCHEMA_VERSION, statements

T = TypeVar("T")
log = logging.getLogger("twinbridge.sensorthings.postgres")
MAX_PARAMS = 32767  # asyncpg's limit of bound values per statement
LOCK = 0x7B57A  # advisory lock serialising schema creation across workers
GEOM_FUNCTION = """
CREATE OR REPLACE FUNCTION tb_geom(j jsonb) RETURNS geometry LANGUAGE sql IMMUTABLE AS
$$ SELECT ST_GeomFromGeoJSON(COALESCE(j -> 'geometry', j)::text) $$
"""


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it is: the store leaves no session state behind
    (only SET LOCAL, transaction-scoped advisory locks, no LISTEN, no cursors outside a
    transaction; asyncpg rolls back an open transaction itself), so asyncpg's default reset
    (`RESET ALL; CLOSE ALL; UNLISTEN *; …`) would cost a round trip per request for nothing."""


class PostgresStore:
    dialect = POSTGRES

    def __init__(self, dsn: str, schema: str, readers: int = 4) -> None:
        self.dsn = dsn
        self.schema = schema
        self.readers = readers
        self.pool: asyncpg.Pool | None = None
        self.postgis = False

    async def open(self) -> None:
        await self._create_schema()
        self.pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.readers + 1,
            server_settings={
                "search_path": f"{self.schema},public",
                # Statements differ by their bound values (a Datastream, a time): plans made
                # for the values beat generic plans by far (ms against s, measured).
                "plan_cache_mode": "force_custom_plan",
            },
            reset=_keep_session,
        )

    async def _create_schema(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
                self.postgis = await self._postgis(conn)
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                await conn.execute(f'SET LOCAL search_path = "{self.schema}", public')
                for ddl in statements(POSTGRES):
                    await conn.execute(ddl)
                if self.postgis:
                    await conn.execute(GEOM_FUNCTION)
                await conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', $1)"
                    " ON CONFLICT DO NOTHING",
                    SCHEMA_VERSION,
                )
        finally:
            await conn.close()

    @staticmethod
    async def _postgis(conn: asyncpg.Connection) -> bool:
        if await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'postgis'"):
            return True
        try:
            async with conn.transaction():
                await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            return True
        except asyncpg.PostgresError as e:
            log.warning("PostGIS is not available (%s); geometry functions will answer 501", e)
            return False

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    @staticmethod
    async def _execute(conn: asyncpg.Connection, stmt: Stmt, readonly: bool) -> Rows:
        if len(stmt.params) > MAX_PARAMS:
            raise too_many_values(readonly, len(stmt.params), MAX_PARAMS)
        if stmt.copy is not None and stmt.many is not None:
            table, columns = stmt.copy
            await conn.copy_records_to_table(table, records=stmt.many, columns=list(columns))
            return []
        if stmt.many is not None:
            await conn.executemany(stmt.sql, stmt.many)
            return []
        return [tuple(r) for r in await conn.fetch(stmt.sql, *stmt.params)]

    async def _run(self, plan: Plan[T], readonly: bool) -> T:
        assert self.pool is not None, "store is not open"
        async with self.pool.acquire() as conn:
            isolation = "repeatable_read" if readonly else "read_committed"
            try:
                async with conn.transaction(isolation=isolation, readonly=readonly):
                    return await run_async(plan, lambda stmt: self._execute(conn, stmt, readonly))
            except asyncpg.UndefinedFunctionError as e:
                if "st_" in str(e).lower() or "tb_geom" in str(e):
                    raise NotImplementedYet(
                        "geometry functions need PostGIS in this store"
                    ) from None
                log.info("undefined function: %s", e)
                raise InvalidParameter("$filter", "cannot be evaluated by this store") from None
            except asyncpg.DataError as e:  # SQLSTATE class 22, also a parameter out of range
                raise invalid_data(readonly, f"{e.sqlstate} {e}") from None
            except asyncpg.ProgramLimitExceededError as e:  # class 54, e.g. stack depth
                raise too_complex(readonly, f"{e.sqlstate} {e}") from None

    async def read(self, plan: Plan[T]) -> T:
        return await self._run(plan, readonly=True)

    async def write(self, plan: Plan[T]) -> T:
        return await self._run(plan, readonly=False)

    async def drop(self) -> None:
        """Remove this tenant's schema (tests, benchmarks)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await conn.close()

    @staticmethod
    def describe() -> dict[str, Any]:
        return {"driver": "asyncpg"}
