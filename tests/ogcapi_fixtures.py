"""Real OGC API – Features upstreams for the `oapif` connector, started once per session.

All over the same PostGIS rows (tests/postgis_fixtures.py's database, 2,000 trees of
scripts/load_postgis_trees.py in EPSG:4326, profile column names):
- `trees84` (all of them), `city_a` (fid <= 1000) and `city_b` (fid > 1000) tables;
- tipg (PyPI) over the database: collection `public.trees84`;
- pygeoapi 0.21 (PyPI, gunicorn, PostgreSQL provider) over `trees84`;
- two city TwinBridges (`twinbridge serve`) publishing `city_a` and `city_b` as tenants
  `nord`/`sued`, collection `baeume`, profile street-trees;
- a state TwinBridge whose tenants `nord`/`sued` read those two cities through `oapif`, and
  whose tenant `land` publishes the `nord` city's federated root collection as it is.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from tests.conformance.test_peers import PYGEOAPI, stop, wait_for
from tests.conftest import free_port, start_gateway
from tests.postgis_fixtures import TREE_COLUMNS, TREE_COUNT, PostGIS, loader

SPLIT = 1000  # city_a: fid <= SPLIT


@dataclass(frozen=True)
class Upstreams:
    db: PostGIS
    tipg: str  # landing page
    pygeoapi: str  # landing page


async def _tables(dsn: str) -> None:
    load = loader()
    rows = load.tree_rows(TREE_COUNT, srid=4326)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await load.load_table(conn, rows, table="trees84", srid=4326)
        await load.load_table(conn, rows[:SPLIT], table="city_a", srid=4326)
        await load.load_table(conn, rows[SPLIT:], table="city_b", srid=4326)
    finally:
        await conn.close()


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _tipg(db: PostGIS, tmp: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{db.user}@{db.host}:{db.port}/{db.database}",
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    proc = subprocess.Popen(
        [_tool("uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "tipg.log").open("w"),
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/collections/public.trees84", proc, "tipg")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _pygeoapi(db: PostGIS, tmp: Path) -> Iterator[str]:
    port = free_port()
    data = (
        f"{{host: {db.host}, port: {db.port}, dbname: {db.database}, user: {db.user}, "
        "password: '', search_path: [public]}"
    )
    extra = "        table: trees84\n        geom_field: geom\n"
    config = tmp / "pygeoapi.yml"
    config.write_text(
        PYGEOAPI.format(port=port, provider="PostgreSQL", data=data, id_field="fid", extra=extra),
        encoding="utf-8",
    )
    openapi = tmp / "openapi.yml"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run(
        [_tool("pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp,
    )
    proc = subprocess.Popen(
        [_tool("gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "pygeoapi.flask_app:APP"],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "pygeoapi.log").open("w"),
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/collections/trees", proc, "pygeoapi")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def upstreams(postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstreams]:
    asyncio.run(_tables(postgis.dsn))
    tmp = tmp_path_factory.mktemp("oapif-upstreams")
    tipg = _tipg(postgis, tmp)
    pygeo = _pygeoapi(postgis, tmp)
    try:
        yield Upstreams(postgis, next(tipg), next(pygeo))
    finally:
        tipg.close()
        pygeo.close()


def street_trees(source: dict[str, Any], id_field: str | None = None) -> dict[str, Any]:
    """A street-trees collection over a source whose fields carry the profile's names."""
    mapping: dict[str, Any] = {"properties": {p: p for p in TREE_COLUMNS}}
    if id_field:
        mapping["id"] = id_field
    return {"title": "Bäume", "profile": "street-trees", "source": source, "mapping": mapping}


def _serve(config: dict[str, Any], path: Path) -> tuple[subprocess.Popen, str]:
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return start_gateway({}, "--config", str(path))


SERVER = {"default_limit": 10, "max_limit": 10000, "title": "TwinBridge"}


@dataclass(frozen=True)
class Federation:
    cities: dict[str, str]  # tenant -> base URL of the city instance serving it
    state: str


@pytest.fixture(scope="session")
def federation(
    upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    tmp = tmp_path_factory.mktemp("oapif-federation")
    db = upstreams.db
    procs: list[subprocess.Popen] = []
    cities: dict[str, str] = {}
    try:
        for tenant, table in (("nord", "city_a"), ("sued", "city_b")):
            source = {"connector": "postgis", **db.options(table), "count": "exact"}
            config = {
                "server": SERVER,
                "tenants": {tenant: {"collections": {"baeume": street_trees(source, "fid")}}},
            }
            proc, url = _serve(config, tmp / f"{tenant}.yaml")
            procs.append(proc)
            cities[tenant] = url
        tenants = {
            tenant: {
                "collections": {
                    "baeume": street_trees(
                        {"connector": "oapif", "url": f"{url}/{tenant}/collections/baeume"}
                    )
                }
            }
            for tenant, url in cities.items()
        }
        # a city's federated root, read as it is (no profile: not in the state's own root)
        nord_root = {"connector": "oapif", "url": f"{cities['nord']}/collections/street-trees"}
        tenants["land"] = {"collections": {"nord-alle": {"source": nord_root}}}
        proc, state = _serve({"server": SERVER, "tenants": tenants}, tmp / "state.yaml")
        procs.append(proc)
        yield Federation(cities, state)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


__all__ = [
    "TREE_COLUMNS",
    "SPLIT",
    "Federation",
    "Upstreams",
    "federation",
    "street_trees",
    "upstreams",
]
