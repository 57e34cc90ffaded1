"""The SensorThings benchmark's data: many Observations in the PostgreSQL store's own schema,
made by SQL (generate_series) in one transaction, deterministically.

Datastream d (1..streams) belongs to Thing ceil(d/4) and has one Observation every STEP
from START, `per_stream` of them; the rows go in in time order (as a city's sensors deliver
them: all streams at 00:00, then all at 00:10, …), so that Observation id k*streams + d is
stream d's k-th. The result is a number with two decimals. The store's Observation indexes
are dropped for the load and made again by the store's own DDL afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from load_postgis_trees import ensure_database, with_database  # noqa: E402

from gateway.sensorthings.store.dialect import POSTGRES  # noqa: E402
from gateway.sensorthings.store.postgres import PostgresStore  # noqa: E402
from gateway.sensorthings.store.schema import statements  # noqa: E402

SCHEMA = "sta"
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
STEP_US = 600_000_000  # ten minutes
STREAMS_PER_THING = 4
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
UNIT = '{"name": "degree Celsius", "symbol": "Cel", "definition": "http://unitsofmeasure.org"}'
OBSERVATION_INDEXES = """
SELECT indexname FROM pg_indexes
WHERE schemaname = $1 AND tablename = 'observations' AND indexname <> 'observations_pkey'
"""


def load_sql(streams: int, per_stream: int) -> list[str]:
    things = (streams + STREAMS_PER_THING - 1) // STREAMS_PER_THING
    return [
        "SET LOCAL maintenance_work_mem = '512MB'",
        # no foreign-key trigger per row (20 million lookups): the rows are consistent by
        # construction (needs a superuser, as the benchmark's PostgreSQL has)
        "SET LOCAL session_replication_role = replica",
        f"""INSERT INTO things (id, name, description, properties)
        SELECT g, 'bench thing ' || g, 'a benchmark node', jsonb_build_object('n', g)
        FROM generate_series(1, {things}) g""",
        f"""INSERT INTO sensors (id, name, description, encoding_type, metadata)
        SELECT g, 'sensor ' || g, 'a thermometer', 'text/html', '"https://example.org/t"'
        FROM generate_series(1, {streams}) g""",
        f"""INSERT INTO observed_properties (id, name, definition, description)
        SELECT g, 'property ' || g, 'urn:bench:' || g, 'air temperature'
        FROM generate_series(1, {STREAMS_PER_THING}) g""",
        f"""INSERT INTO features_of_interest (id, name, description, encoding_type, feature)
        SELECT g, 'site ' || g, 'where node ' || g || ' stands', 'application/geo+json',
               jsonb_build_object('type', 'Point',
                                  'coordinates', jsonb_build_array(10 + g / 1000.0, 53.55))
        FROM generate_series(1, {things}) g""",
        f"""INSERT INTO datastreams (id, name, description, unit_of_measurement,
               observation_type, phenomenon_time_start, phenomenon_time_end,
               result_time_start, result_time_end, thing_id, sensor_id, observed_property_id)
        SELECT g, 'stream ' || g, 'temperature at node ' || ((g - 1) / 4 + 1), '{UNIT}',
               '{MEASUREMENT}', {START_US}, {START_US} + {per_stream - 1}::bigint * {STEP_US},
               {START_US}, {START_US} + {per_stream - 1}::bigint * {STEP_US},
               (g - 1) / {STREAMS_PER_THING} + 1, g, (g - 1) % {STREAMS_PER_THING} + 1
        FROM generate_series(1, {streams}) g""",
        f"""INSERT INTO observations (id, phenomenon_time_start, phenomenon_time_end,
               result_time, result_json, result_number, result_string, datastream_id,
               feature_of_interest_id)
        SELECT k * {streams} + d, t, t, t, to_jsonb(v), v, to_jsonb(v)::text, d,
               (d - 1) / {STREAMS_PER_THING} + 1
        FROM generate_series(0, {per_stream - 1}) k,
             LATERAL (SELECT {START_US} + k::bigint * {STEP_US} AS t) tk,
             generate_series(1, {streams}) d,
             LATERAL (SELECT round((10 + 8 * sin(k / 72.0) + d % 7)::numeric, 2)::float8 AS v) x""",
        *(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            for table in (
                "things",
                "sensors",
                "observed_properties",
                "features_of_interest",
                "datastreams",
                "observations",
            )
        ),  # fmt: skip
    ]


async def ensure_observations(
    admin_dsn: str, database: str, streams: int, per_stream: int, say: object = print
) -> str:
    """The store's DSN, after loading `streams` × `per_stream` Observations into `database`
    when it is missing or holds another number of them."""
    await ensure_database(admin_dsn, database)
    dsn = with_database(admin_dsn, database)
    conn = await asyncpg.connect(dsn)
    try:
        if await _loaded(conn) == (streams, streams * per_stream):
            return dsn
        say(f"loading {streams:,} Datastreams × {per_stream:,} Observations into {database} …")
        await conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        store = PostgresStore(dsn, SCHEMA)
        await store.open()  # the store's own tables and indexes
        await store.close()
        await conn.execute(f'SET search_path = "{SCHEMA}", public')
        async with conn.transaction():
            for (index,) in await conn.fetch(OBSERVATION_INDEXES, SCHEMA):
                await conn.execute(f'DROP INDEX "{SCHEMA}"."{index}"')
            for sql in load_sql(streams, per_stream):
                await conn.execute(sql)
            for ddl in statements(POSTGRES):  # the indexes again
                await conn.execute(ddl)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return dsn


async def _loaded(conn: asyncpg.Connection) -> tuple[int, int] | None:
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{SCHEMA}.observations")
    if not exists:
        return None
    streams = await conn.fetchval(f'SELECT count(*) FROM "{SCHEMA}".datastreams')
    observations = await conn.fetchval(f'SELECT count(*) FROM "{SCHEMA}".observations')
    return int(streams), int(observations)
