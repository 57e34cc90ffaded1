"""The hostile-input corpus over PostgreSQL: PostGIS tables (`trees` under the street-trees
profile, so also on the federated root; `baeume` with the city's own names and a column of
every type the connector converts) and an embedded SensorThings store on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.config import parse_config
from tests.hostile.corpus import Case
from tests.hostile.targets import POSTGIS, Target, corpus, params, target
from tests.postgis_fixtures import TREE_COLUMNS, PostGIS, postgis_fixture  # noqa: F401
from tests.sensorthings.conftest import KEY, PG_DSN, populate_ets, postgres_available

pytestmark = pytest.mark.integration
CASES = corpus(POSTGIS)


def config(db: PostGIS, schema: str, key_env: str) -> dict:
    trees = {
        "profile": "street-trees",
        "source": {"connector": "postgis", **db.options("trees", pool_max_size=4)},
        "mapping": {"id": "fid", "properties": {p: p for p in TREE_COLUMNS}},
    }
    baeume = {"source": {"connector": "postgis", **db.options("baeume", id_field="baumid")}}
    store = {"kind": "postgres", "dsn": PG_DSN, "schema": schema}
    return {
        "tenants": {
            "hxpg": {"collections": {"trees": trees, "baeume": baeume}},
            "hxsta": {"sensorthings": {"store": store, "api_key_env": key_env}},
        }
    }


@pytest.fixture(scope="module")
def pg(postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if not postgres_available():
        pytest.skip("PostgreSQL is not listening on 127.0.0.1:5432")
    schema = f"sta_test_{uuid.uuid4().hex[:12]}"
    key_env = f"TB_HOSTILE_KEY_{uuid.uuid4().hex[:8]}"
    os.environ[key_env] = KEY
    folder = tmp_path_factory.mktemp("hostile-pg")
    loaded = parse_config(config(postgis, schema, key_env), "hostile.yaml", Path(folder))
    fill = lambda client: populate_ets(client, "/hxsta/sta/v1.1")  # noqa: E731
    secrets = (postgis.database, schema, PG_DSN)
    try:
        with target("postgis", create_app(loaded), secrets, fill) as found:
            yield found
    finally:
        os.environ.pop(key_env, None)
        drop_schema(schema)


def drop_schema(schema: str) -> None:
    import asyncio

    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.mark.parametrize("case", params(CASES))
def test_postgis(pg: Target, case: Case) -> None:
    pg.run(case)
