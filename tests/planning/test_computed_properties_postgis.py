"""The same filters and sorts on computed and defaulted properties against PostGIS: the
rewrites for defaults (`IS NULL`, `= ''`, `NOT IN` the other codes) run as PostgreSQL SQL
and select what evaluating the mapped features selects."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import asyncpg
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from gateway.query.cql2 import parse
from gateway.query.evaluate import compile_predicate
from gateway.query.sorting import sort_features
from tests.planning.test_computed_properties import COLUMNS, FILTERS, MAPPING, _row
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration
SQL_TYPES = {"TEXT": "text", "REAL": "double precision", "INTEGER": "integer"}


async def _load(dsn: str) -> None:
    rng = random.Random(13)
    rows = [_row(rng, n) for n in range(400)]
    columns = ", ".join(f"{name} {SQL_TYPES[kind]}" for name, kind in COLUMNS)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(
            f"DROP TABLE IF EXISTS objekte; CREATE TABLE objekte (fid serial PRIMARY KEY, "
            f"geom geometry(Point, 25832), {columns})"
        )
        names = ", ".join(name for name, _ in COLUMNS)
        marks = ", ".join(f"${i + 3}" for i in range(len(COLUMNS)))
        await conn.executemany(
            f"INSERT INTO objekte (geom, {names}) "
            f"VALUES (ST_SetSRID(ST_MakePoint($1, $2), 25832), {marks})",
            [
                (690000.0 + n, 5334000.0 + n, *[None if v == "n/a" else v for v in row])
                for n, row in enumerate(rows)
            ],
        )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def client(postgis: PostGIS):
    asyncio.run(_load(postgis.dsn))
    collection = {
        "source": {"connector": "postgis", **postgis.options("objekte")},
        "mapping": MAPPING,
    }
    tenants = {"pg": {"collections": {"objekte": collection}}}
    server = {"query": {"scan_seconds": 0}}
    loaded = parse_config(
        {"server": server, "tenants": tenants}, "computed.yaml", Path(__file__).parent
    )
    with TestClient(create_app(loaded)) as c:
        yield c


@pytest.fixture(scope="module")
def reference(client: TestClient) -> list[dict]:
    doc = client.get("/pg/collections/objekte/items?limit=1000").json()
    assert len(doc["features"]) == 400
    return doc["features"]


@pytest.mark.parametrize("text", FILTERS)
def test_postgis_selects_what_evaluating_the_mapped_features_selects(client, reference, text):
    test = compile_predicate(parse(text, "cql2-text"))
    expected = sorted(f["id"] for f in reference if test(f))
    response = client.get("/pg/collections/objekte/items", params={"filter": text, "limit": 1000})
    assert response.status_code == 200, (text, response.text)
    assert sorted(f["id"] for f in response.json()["features"]) == expected, text


@pytest.mark.parametrize("sortby", ["height", "-total", "storeys", "name"])
def test_postgis_sorts_as_sorting_the_mapped_features_does(client, reference, sortby):
    name = sortby.lstrip("-")
    keys = [(name, not sortby.startswith("-"))]
    expected = [f["properties"][name] for f in sort_features(list(reference), keys)]
    response = client.get("/pg/collections/objekte/items", params={"sortby": sortby, "limit": 1000})
    assert response.status_code == 200, (sortby, response.text)
    assert [f["properties"][name] for f in response.json()["features"]] == expected
