"""PostGIS tables and views, queried per request through an asyncpg connection pool.

PostgreSQL does the work: the bbox (an exact ST_Intersects in CRS84 that the GiST index
serves; an antimeridian box is split in two), CQL2 filters (compiled by
connectors/sqlfilter.py), sorting, offset/limit paging (deep offsets over the ids first),
keyset paging (`SourceQuery.after`, see sql.ordering) and counting when it is cheap.
Geometries leave the database as stored (WKB) and are moved to CRS84 here, unrounded, by
the transformer that moves file sources and filter literals (connectors/postgis/geometry.py:
points cost what parsing ST_AsGeoJSON text did). Values
are typed as JSON wants them: numeric -> float, date -> 'YYYY-MM-DD', timestamps -> ISO
8601 (UTC), json and arrays -> parsed.

Every value from a request is a bound parameter; table and column names come from the
database's own catalog and are quoted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import asyncpg
import orjson
from cachetools import TTLCache
from pydantic import Field, SecretStr, model_validator

from connectors.base import (
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    Health,
    QueryResult,
    Record,
    SourceQuery,
    SourceVersion,
)
from connectors.crs import crs_uri
from connectors.errors import SourceError, SourceRejectedValue, SourceStatementTimeout
from connectors.postgis.sql import Params, filter_ops, records, statement
from connectors.postgis.table import Projection, Table, extent, read_table, row_version
from connectors.postgis.write import PostGISWrites, may_write

_FETCH_ALL = 1000  # pages up to this size are fetched at once; larger ones use a cursor
_RELTUPLES_TTL = 60.0  # seconds the table-size estimate is trusted
_ESTIMATE_TTL = 60.0  # seconds a filter's row estimate is trusted


class PostGISConnector(PostGISWrites, FeatureConnector):
    class Config(ConnectorConfig):
        dsn: str | None = Field(
            None,
            description="libpq connection URI (postgresql://user:password@host:port/database"
            "?sslmode=...) instead of host/port/database/user/password.",
        )
        host: str = Field("127.0.0.1", description="PostgreSQL server host.")
        port: int = Field(5432, description="PostgreSQL server port.")
        database: str | None = Field(None, description="Database name (required without dsn).")
        user: str | None = Field(None, description="User name; default: the libpq default.")
        password: SecretStr | None = Field(
            None, description="Password; use ${VAR} so it comes from the environment."
        )
        db_schema: str = Field("public", alias="schema", description="Schema of the table.")
        table: str = Field(description="Table or view to publish.")
        id_field: str | None = Field(
            None,
            description="Unique column holding the feature id. Default: the single-column "
            "primary key (a view has none: set it).",
        )
        geometry_field: str | None = Field(
            None, description="Geometry column. Default: the table's only geometry column."
        )
        srid: int | None = Field(
            None,
            description="SRID of the geometry column. Default: from geometry_columns (set it "
            "for views whose column has no type modifier).",
        )
        pool_min_size: int = Field(1, ge=0, description="Connections opened at start-up.")
        pool_max_size: int = Field(10, ge=1, description="Most connections per worker process.")
        connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection.")
        statement_timeout: float = Field(
            5.0,
            gt=0,
            description="Seconds PostgreSQL may spend on one statement before it cancels it "
            "(answered 504). Keep it below server.federation.timeout.",
        )
        server_settings: dict[str, str] = Field(
            default_factory=dict,
            description="PostgreSQL settings for the connector's sessions. Defaults: "
            "jit off and max_parallel_workers_per_gather 0 (a gateway runs many small page "
            "queries; measured here: 16 ms of worker start-up for a 0.5 ms query), and "
            "plan_cache_mode force_custom_plan (a bbox or filter is planned with its values: "
            "the generic plan of a bbox page took 23 ms instead of 0.9 ms). DateStyle, "
            "TimeZone and statement_timeout are always the connector's.",
        )
        count: Literal["exact", "estimate", "none"] = Field(
            "estimate",
            description="numberMatched is exact or left out, never guessed. 'exact': count(*) "
            "whenever the gateway asks. 'estimate': count only when it is cheap: a page "
            "shorter than the limit counts itself; otherwise PostgreSQL's estimate "
            "(pg_class.reltuples without a filter, EXPLAIN with one) must be at most "
            "count_limit, and the count stops after count_limit + 1 matches; bigger results "
            "leave numberMatched out. An estimate is never reported. 'none': never count.",
        )
        count_limit: int = Field(
            1000,
            ge=0,
            description="With count 'estimate': the most rows counted exactly (counting "
            "stops after count_limit + 1 matches, so a count costs at most that).",
        )
        version_query: str | None = Field(
            None,
            description="SQL (yours, never a client's) whose one row changes with every "
            "insert, update and delete of the table, e.g. `SELECT n, changed_at FROM "
            "tree_changes` kept by a trigger (`SELECT max(updated_at)` misses deletes). "
            "Its values make the ETag, a timestamp among them the Last-Modified; it runs "
            "at most once per server.http_cache.version_ttl. Unset: no ETag and no response "
            "cache, since PostgreSQL keeps no exact change marker per table "
            "(pg_stat_user_tables counts are flushed up to seconds late and can be reset).",
        )

        writable: bool = Field(
            False,
            description="Accept creates, replaces, updates and deletes (OGC API – Features "
            "Part 4) on this table. Only honoured when the database user holds INSERT, UPDATE "
            "and DELETE on it (checked when the connector opens).",
        )

        @model_validator(mode="after")
        def _one_way_in(self) -> PostGISConnector.Config:
            if self.dsn and (self.database or self.user or self.password):
                raise ValueError("give either 'dsn' or database/user/password, not both")
            if not self.dsn and not self.database:
                raise ValueError("set 'database' (or 'dsn')")
            return self

    config: Config

    def __init__(self, config: ConnectorConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        self._pool: asyncpg.Pool | None = None
        self._table: Table | None = None
        self._description: Description | None = None
        self._opening = asyncio.Lock()
        self._reltuples: tuple[float, float] | None = None  # (value, monotonic time)
        self._capabilities: Capabilities | None = None
        self._estimates: TTLCache[tuple[Any, ...], float] = TTLCache(1024, _ESTIMATE_TTL)

    # --- contract ---------------------------------------------------------------------

    def _filter_test(self) -> Callable[[Any], bool] | None:
        """The exact test the SQL compiler applies, so a part it would refuse stays with
        the gateway instead of failing the request; None until the table is known."""
        if self._table is None:
            return None
        from connectors import sqlfilter

        types = {c.name: c.type for c in self._table.columns if c.type is not None}
        return sqlfilter.pushable("postgis", types=types, srid=self._table.srid)

    def capabilities(self) -> Capabilities:
        if self._capabilities is None:
            self._capabilities = self._declare()
        return self._capabilities

    def _declare(self) -> Capabilities:
        return Capabilities(
            bbox=True,
            paging=True,
            count=self.config.count != "none",
            filter_ops=filter_ops(),
            filter_test=self._filter_test(),
            sort=True,
            keyset=True,
            projection=True,
        )

    def concurrency(self) -> int:
        return self.config.pool_max_size

    async def open(self) -> None:
        async with self._opening:
            if self._pool is not None:
                return
            self._pool = await self._connect()
            try:
                async with self._connection() as conn:
                    table = await read_table(conn, self.config)
                    self._description = await self._describe(conn, table)
                    self._may_write = self.config.writable and await may_write(conn, table)
            except BaseException:
                await self.close()
                raise
            self._table = table

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=self.config.statement_timeout)
            except TimeoutError:
                pool.terminate()

    async def describe(self) -> Description:
        if self._description is None:
            await self.open()
        assert self._description is not None
        return self._description

    async def query(self, q: SourceQuery) -> QueryResult:
        table = self._ready()
        params = Params()
        sql, where, counted = statement(table, q, params)
        if q.limit is not None and q.limit <= _FETCH_ALL:
            async with self._connection() as conn:
                rows = await conn.fetch(sql, *params) if q.limit else []
                matched = await self._count(conn, table, q, where, counted, len(rows))
            found = records(table.projection(q.fields), rows)
            return QueryResult(_aiter(found), number_matched=matched)
        async with self._connection() as conn:
            matched = await self._count(conn, table, q, where, counted, None)
        stream = self._stream(table.projection(q.fields), sql, params)
        return QueryResult(stream, number_matched=matched)

    async def get(self, record_id: str) -> Record | None:
        table = self._ready()
        key = table.column(table.id_field)
        sql = f"{table.select} WHERE {key.quoted} = $1::text::{key.sql_type} LIMIT 1"
        try:
            async with self._connection() as conn:
                rows = await conn.fetch(sql, record_id)
        except SourceRejectedValue:  # not a valid value of the id column's type
            return None
        return records(table.projection(None), rows)[0] if rows else None

    async def source_version(self) -> SourceVersion | None:
        if self.config.version_query is None:
            return None
        async with self._connection() as conn:
            row = await conn.fetchrow(self.config.version_query)
        return row_version(row)

    async def health(self) -> Health:
        now = datetime.now(UTC)
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                if self._pool is None:
                    await self.open()
                async with self._connection() as conn:
                    version = await conn.fetchval("SHOW server_version")
        except Exception as e:  # noqa: BLE001 - health reports any failure as data
            return Health(ok=False, detail=f"{type(e).__name__}: {e}", checked=now)
        return Health(ok=True, detail=f"PostgreSQL {version}", checked=now)

    # --- connections --------------------------------------------------------------------

    def _server(self) -> str:
        """Server and database for messages (never the password)."""
        if self.config.dsn:
            parts = urlsplit(self.config.dsn)
            return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"
        return f"{self.config.host}:{self.config.port}/{self.config.database}"

    async def _connect(self) -> asyncpg.Pool:
        c = self.config
        login: dict[str, Any] = {"dsn": c.dsn} if c.dsn else {"host": c.host, "port": c.port}
        if not c.dsn:
            login.update(database=c.database, user=c.user)
            if c.password is not None:
                login["password"] = c.password.get_secret_value()
        settings = {
            "application_name": "twinbridge",
            "jit": "off",
            "max_parallel_workers_per_gather": "0",
            "plan_cache_mode": "force_custom_plan",
            **c.server_settings,
            "statement_timeout": str(round(c.statement_timeout * 1000)),
            "DateStyle": "ISO, YMD",
            "TimeZone": "UTC",
        }
        try:
            pool = await asyncpg.create_pool(
                **login,
                min_size=0,  # see _warm
                max_size=c.pool_max_size,
                timeout=c.connect_timeout,
                server_settings=settings,
                init=_init_connection,
                reset=_keep_session,
            )
            await _warm(pool, min(c.pool_min_size, c.pool_max_size))
            return pool
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            reason = str(e) or type(e).__name__
            where = self._server()
            raise SourceError(f"cannot connect to PostgreSQL at {where}: {reason}") from None

    def _ready(self) -> Table:
        if self._table is None or self._pool is None:
            raise SourceError(f"not connected to PostgreSQL at {self._server()}")
        return self._table

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; cancelled statements and lost connections get clear names."""
        pool = self._pool
        if pool is None:
            raise SourceError(f"not connected to PostgreSQL at {self._server()}")
        try:
            # no acquire timeout: it costs a task per request; the catalog bounds the wait
            async with pool.acquire() as conn:
                yield conn
        except asyncpg.QueryCanceledError as e:
            limit = self.config.statement_timeout
            raise SourceStatementTimeout(f"PostgreSQL cancelled the query after {limit:g} s") from e
        except asyncpg.DataError as e:  # SQLSTATE class 22: a value of the request
            raise SourceRejectedValue(f"PostgreSQL: {e}") from e
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as e:
            raise SourceError(f"PostgreSQL at {self._server()}: {e}") from e

    async def _stream(
        self, projection: Projection, sql: str, params: Params
    ) -> AsyncIterator[Record]:
        """Large or unlimited results: a server-side cursor, so memory stays flat."""
        async with self._connection() as conn, conn.transaction():
            batch: list[asyncpg.Record] = []
            async for row in conn.cursor(sql, *params, prefetch=_FETCH_ALL):
                batch.append(row)
                if len(batch) == _FETCH_ALL:
                    for record in records(projection, batch):
                        yield record
                    batch = []
            for record in records(projection, batch):
                yield record

    # --- counting and metadata --------------------------------------------------------

    async def _count(
        self,
        conn: asyncpg.Connection,
        table: Table,
        q: SourceQuery,
        where: list[str],
        params: Params,
        fetched: int | None,
    ) -> int | None:
        """The exact number of matches when asked and cheap enough by config, else None."""
        mode = self.config.count
        if not q.want_count or mode == "none":
            return None
        # A short page has counted itself (not one past the end, nor one after a position).
        short = fetched is not None and q.after is None and fetched < (q.limit or 0)
        if short and fetched is not None and (fetched > 0 or q.offset == 0):
            return q.offset + fetched
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        exact = f"SELECT count(*) FROM {table.target}{condition}"
        if mode == "exact" or q.limit == 0:  # only the count is wanted: never scan instead
            return int(await conn.fetchval(exact, *params))
        if not where:
            if await self._table_rows(conn, table) > self.config.count_limit:
                return None
            return int(await conn.fetchval(exact))
        # The planner's estimate decides whether counting is worth trying; the count itself
        # stops after count_limit + 1 matches, so a wrong estimate costs little.
        if await self._estimate(conn, table, condition, params) > self.config.count_limit:
            return None
        cap = self.config.count_limit + 1
        capped = f"SELECT count(*) FROM (SELECT 1 FROM {table.target}{condition} LIMIT {cap}) s"
        matched = int(await conn.fetchval(capped, *params))
        return matched if matched < cap else None

    async def _estimate(
        self, conn: asyncpg.Connection, table: Table, condition: str, params: Params
    ) -> float:
        """PostgreSQL's row estimate for the condition, remembered a minute: a client paging
        through one filter asks once. A stale estimate only decides whether to count."""
        key = (condition, tuple(params))
        found = self._estimates.get(key)
        if found is None:
            explain = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table.target}{condition}"
            found = self._estimates[key] = _plan_rows(await conn.fetchval(explain, *params))
        return found

    async def _table_rows(self, conn: asyncpg.Connection, table: Table) -> float:
        """pg_class.reltuples (cached a minute); unknown (never analysed) counts as big."""
        now = time.monotonic()
        if self._reltuples is None or now - self._reltuples[1] > _RELTUPLES_TTL:
            sql = "SELECT reltuples FROM pg_class WHERE oid = $1::regclass"
            value = await conn.fetchval(sql, table.target)
            estimate = float("inf") if value is None or value < 0 else float(value)
            self._reltuples = (estimate, now)
        return self._reltuples[0]

    async def _describe(self, conn: asyncpg.Connection, table: Table) -> Description:
        return Description(
            fields=tuple(c.info for c in table.columns),
            geometry_type=table.geometry_type,
            storage_crs=crs_uri(table.crs),
            bbox=await extent(conn, table),
            id_field=table.id_field,
        )


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            schema="pg_catalog",
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
        )


def _plan_rows(plan: Any) -> float:
    """The top node's row estimate of EXPLAIN (FORMAT JSON); infinite when unreadable."""
    try:
        doc = orjson.loads(plan) if isinstance(plan, str | bytes) else plan
        return float(doc[0]["Plan"]["Plan Rows"])
    except (ValueError, LookupError, TypeError):
        return float("inf")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's RESET ALL/CLOSE ALL/UNLISTEN round trip: the
    connector changes no session state (cursors live in transactions, which asyncpg rolls
    back on release), and that query cost one extra round trip per request."""


async def _warm(pool: asyncpg.Pool, connections: int) -> None:
    """Open `connections` now, as `pool_min_size` promises. Not asyncpg's `min_size`: since
    asyncpg 0.32 it is a floor the pool restores in the background, retrying a source that
    is down every 1, 2, 4 … 60 s behind the breaker's back (an open circuit must mean the
    source is left alone) and logging a traceback each time."""
    held: list[asyncpg.Connection] = []
    try:
        for _ in range(connections):
            held.append(await pool.acquire())
    except BaseException:
        pool.terminate()
        raise
    for conn in held:
        await pool.release(conn)


async def _aiter(items: list[Record]) -> AsyncIterator[Record]:
    for item in items:
        yield item


__all__ = ["PostGISConnector"]
