"""A real `twinbridge serve`: over PostGIS with a trigger-kept version_query (a 304 runs no
statement on the table, a change in the table changes the tag), and over a GeoJSON file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.httpcache.files import collection, write_trees
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration

# Every read of the view draws from a sequence (nextval is outside transactions), so the
# test sees whether the gateway queried the table at all; a trigger keeps the version.
SETUP = """
DROP TABLE IF EXISTS cached_trees CASCADE;
CREATE TABLE cached_trees AS SELECT * FROM trees WHERE fid <= 40;
ALTER TABLE cached_trees ADD PRIMARY KEY (fid);
CREATE SEQUENCE IF NOT EXISTS cached_reads;
CREATE VIEW cached_trees_read AS
  SELECT t.* FROM cached_trees t, LATERAL (SELECT nextval('cached_reads')) r;
DROP TABLE IF EXISTS cached_version;
CREATE TABLE cached_version (n bigint NOT NULL, changed timestamptz NOT NULL);
INSERT INTO cached_version VALUES (0, now());
CREATE OR REPLACE FUNCTION cached_bump() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN UPDATE cached_version SET n = n + 1, changed = clock_timestamp(); RETURN NULL; END$$;
CREATE TRIGGER cached_trees_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON cached_trees FOR EACH STATEMENT EXECUTE FUNCTION cached_bump();
"""
TREES = "/db/collections/versioned/items"


async def _sql(dsn: str, sql: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        if ";" in sql:
            return await conn.execute(sql)
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def sql(db: PostGIS, text: str) -> Any:
    return asyncio.run(_sql(db.dsn, text))


def reads(db: PostGIS) -> int:
    return sql(db, "SELECT last_value FROM cached_reads")


def _serve(config: dict[str, Any], folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    (folder / "gateway.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
        + ["--log-level", "warning", "--config", str(folder / "gateway.yaml")],
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the gateway exited"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the gateway did not start within 30 s")


@pytest.fixture(scope="module")
def served(postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    sql(postgis, SETUP)
    folder = tmp_path_factory.mktemp("httpcache")
    names = {"species_german": "species_german", "height_m": "height_m"}

    def table(name: str, **source: Any) -> dict[str, Any]:
        options = postgis.options(name, id_field="fid", **source)
        return {
            "profile": "street-trees",
            "source": {"connector": "postgis", **options},
            "mapping": {"id": "fid", "properties": names},
        }

    version = "SELECT n, changed FROM cached_version"
    config = {
        "server": {"http_cache": {"version_ttl": 0}},
        "tenants": {
            "db": {
                "collections": {
                    "versioned": table("cached_trees_read", version_query=version),
                    "plain": table("cached_trees"),
                }
            }
        },
    }
    proc, url = _serve(config, folder)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_postgis_304_runs_no_statement_on_the_table(served: str, postgis: PostGIS) -> None:
    before = reads(postgis)
    r = httpx.get(f"{served}{TREES}?limit=5&sortby=-height_m")
    assert r.status_code == 200 and len(r.json()["features"]) == 5
    etag = r.headers["etag"]
    assert "last-modified" in r.headers
    assert reads(postgis) > before  # the counter sees the gateway's queries
    counted = reads(postgis)
    again = httpx.get(f"{served}{TREES}?sortby=-height_m&limit=5", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert reads(postgis) == counted


def test_postgis_a_changed_table_changes_the_tag(served: str, postgis: PostGIS) -> None:
    url = f"{served}{TREES}/7"
    etag = httpx.get(url).headers["etag"]
    sql(postgis, "UPDATE cached_trees SET height_m = 31.5 WHERE fid = 7")
    r = httpx.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag
    assert r.json()["properties"]["height_m"] == 31.5
    assert r.headers["x-cache"] == "miss"
    assert httpx.get(url).headers["x-cache"] == "hit"
    sql(postgis, "DELETE FROM cached_trees WHERE fid = 7")
    assert httpx.get(url).status_code == 404


def test_postgis_without_a_version_has_no_tag_and_is_not_cached(served: str) -> None:
    for path in ("/db/collections/plain/items", "/collections/street-trees/items"):
        r = httpx.get(f"{served}{path}")
        assert r.status_code == 200 and "etag" not in r.headers, path
        assert r.headers["cache-control"] == "no-cache" and "x-cache" not in r.headers
    # its metadata, read once at start-up, still has a tag
    assert "etag" in httpx.get(f"{served}/db/collections/plain").headers


def test_file_change_changes_the_tag_of_a_served_file(tmp_path: Path) -> None:
    write_trees(tmp_path / "trees.geojson", ["Linde", "Eiche"])
    config = {"tenants": {"f": {"collections": {"trees": collection("trees.geojson")}}}}
    proc, url = _serve(config, tmp_path)
    try:
        items = f"{url}/f/collections/trees/items"
        first = httpx.get(items)
        etag = first.headers["etag"]
        assert first.headers["vary"] == "Accept, Accept-Encoding"
        assert first.headers["cache-control"] == "no-cache"
        assert httpx.get(items, headers={"If-None-Match": etag}).status_code == 304
        assert httpx.get(items).headers["x-cache"] == "hit"
        write_trees(tmp_path / "trees.geojson", ["Linde", "Eiche", "Ahorn"])
        deadline = time.monotonic() + 10  # the file is checked about once a second
        while (r := httpx.get(items, headers={"If-None-Match": etag})).status_code == 304:
            assert time.monotonic() < deadline, "the new file was never seen"
            time.sleep(0.2)
        assert r.headers["etag"] != etag and r.json()["numberReturned"] == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)
