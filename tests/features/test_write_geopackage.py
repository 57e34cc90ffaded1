"""OGC API – Features Part 4 against a real GeoPackage file (read from memory and per
request): writes land in the file (R-tree included), read back through the profile at
once, and change the collection's ETag; any valid tree written reads back as itself."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from connectors.geopackage import GeoPackageConnector
from gateway.demo.gpkg import PointTable, write_points
from tests.features.write_fixtures import MAPPING, WRITE, WRITER, access, client_for, tree

COLUMNS = (
    ("baum_nr", "TEXT NOT NULL UNIQUE"),
    ("art", "TEXT NOT NULL"),
    ("art_de", "TEXT"),
    ("gattung_code", "TEXT"),
    ("pflanzjahr", "INTEGER"),
    ("hoehe_cm", "INTEGER"),
    ("krone_r", "REAL"),
    ("umfang_cm", "INTEGER"),
    ("bezirk", "TEXT"),
    ("strasse", "TEXT"),
    ("hausnr", "TEXT"),
    ("stand", "DATE"),
)
ROW = ("m-1", "Quercus robur", "Stiel-Eiche", "QU", 1975, 2000, 6.05, 210, "Mitte")
ITEMS = "/gp/collections/baeume/items"


def gpkg_source(path: Path, *, in_memory: bool = False) -> dict[str, Any]:
    """The `source` block of a writable collection over make_file's table."""
    return {
        "connector": "geopackage",
        "path": str(path),
        "table": "baeume",
        "id_field": "baum_nr",
        "in_memory": in_memory,
        "writable": True,
    }


def make_file(folder: Path) -> Path:
    path = folder / "baeume.gpkg"
    table = PointTable("baeume", "Bäume", "test trees", COLUMNS)
    write_points(path, table, [(691000.0, 5335000.0, (*ROW, "Marienplatz", "1", "2023-11-15"))])
    return path


@pytest.fixture(params=[True, False], ids=["in-memory", "per-request"], name="gpkg")
def gpkg_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient, Path]]:
    path = make_file(tmp_path)
    source = gpkg_source(path, in_memory=request.param)
    tenants = {
        "gp": {
            "access": access(),
            "collections": {
                "baeume": {"profile": "street-trees", "source": source, "mapping": MAPPING}
            },
        },
        "ro": {
            "access": access(),
            "collections": {
                "baeume": {
                    "profile": "street-trees",
                    "source": {**source, "writable": False},
                    "mapping": MAPPING,
                }
            },
        },
    }
    with client_for(tenants, tmp_path) as client:
        yield client, path


def rows(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_created_tree_is_in_the_file_its_rtree_and_the_next_read(
    gpkg: tuple[TestClient, Path],
) -> None:
    client, path = gpkg
    page = client.get(ITEMS)
    assert page.json()["numberReturned"] == 1
    answer = client.post(ITEMS, content=orjson.dumps(tree()), headers=WRITE)
    assert answer.status_code == 201, answer.text
    fid = answer.headers["location"].rsplit("/", 1)[-1]
    assert client.get(answer.headers["location"]).json()["properties"] == tree()["properties"]
    (stored,) = rows(
        path, "SELECT fid, hoehe_cm, krone_r, gattung_code FROM baeume WHERE baum_nr = ?", fid
    )
    assert stored[1:] == (1250, 4.15, "TI")
    (box,) = rows(
        path, "SELECT minx, maxx, miny, maxy FROM rtree_baeume_geom WHERE id = ?", stored[0]
    )
    # the R-tree keeps 32-bit floats, rounded outwards
    assert box[1] - box[0] <= 1 and box[3] - box[2] <= 1 and 500000 < box[0] < 600000
    again = client.get(ITEMS)
    assert again.json()["numberReturned"] == 2
    near = client.get(f"{ITEMS}?bbox=9.9,53.5,10.0,53.6").json()["features"]
    assert [f["id"] for f in near] == [fid]


def test_replace_patch_delete_and_a_stale_if_match(gpkg: tuple[TestClient, Path]) -> None:
    client, path = gpkg
    url = f"http://testserver{ITEMS}/m-1"
    etag = client.get(url).headers["etag"]
    cleared = client.put(url, content=orjson.dumps(tree()), headers=WRITE)
    assert cleared.status_code == 400  # the street is a template over two columns
    assert cleared.json()["description"].startswith("street:")
    new = tree(genus="Acer", height_m=9.0, street="Marienplatz 1")
    put = client.put(url, content=orjson.dumps(new), headers={**WRITE, "If-Match": etag})
    assert put.status_code == 204, put.text
    assert client.get(url).json()["properties"] == new["properties"]
    assert (
        client.put(url, content=orjson.dumps(new), headers={**WRITE, "If-Match": etag}).status_code
        == 412
    )
    patch = client.patch(
        url,
        content=b'{"geometry": {"type": "Point", "coordinates": [11.5, 48.1]}}',
        headers={**WRITE, "Content-Type": "application/merge-patch+json"},
    )
    assert patch.status_code == 204, patch.text
    moved = client.get(url).json()
    assert moved["geometry"]["coordinates"] == pytest.approx([11.5, 48.1], abs=1e-9)
    assert moved["properties"] == new["properties"]
    assert client.delete(url, headers={"X-API-Key": WRITER}).status_code == 204
    assert client.get(url).status_code == 404
    assert rows(path, "SELECT count(*) FROM baeume") == [(0,)]


def test_a_read_only_geopackage_answers_405(gpkg: tuple[TestClient, Path]) -> None:
    client, _ = gpkg
    answer = client.post(
        "/ro/collections/baeume/items", content=orjson.dumps(tree()), headers=WRITE
    )
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD, POST"


_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)
trees = st.fixed_dictionaries(
    {
        "species_scientific": _text,
        "species_german": _text,
        "genus": st.sampled_from(["Tilia", "Acer", "Quercus"]),
        "planting_year": st.none() | st.integers(1800, 2100),
        "height_m": st.none() | st.integers(0, 6000).map(lambda cm: cm / 100),
        "crown_diameter_m": st.none() | st.integers(0, 4000).map(lambda cm: cm / 100),
        "trunk_circumference_cm": st.none() | st.integers(0, 1500),
        "district": _text,
        "street": st.none(),
        "last_update": st.dates().map(lambda d: d.isoformat()),
    }
)
points = st.tuples(st.floats(5.0, 15.0), st.floats(47.0, 55.0))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(props=trees, point=points)
def test_any_valid_tree_written_reads_back_as_itself(
    tmp_path_factory: pytest.TempPathFactory, props: dict[str, Any], point: tuple[float, float]
) -> None:
    client = _roundtrip_client(tmp_path_factory)
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(point)},
        "properties": props,
    }
    answer = client.post(ITEMS, content=orjson.dumps(feature), headers=WRITE)
    assert answer.status_code == 201, answer.text
    read = client.get(answer.headers["location"]).json()
    assert read["properties"] == props
    assert read["geometry"]["coordinates"] == pytest.approx(list(point), abs=1e-8)


_CLIENTS: dict[str, TestClient] = {}


def _roundtrip_client(factory: pytest.TempPathFactory) -> TestClient:
    """One gateway for every example (per-request reads, so each read is the file's)."""
    if "c" not in _CLIENTS:
        folder = factory.mktemp("roundtrip")
        path = make_file(folder)
        source = gpkg_source(path)
        tenants = {
            "gp": {
                "access": access(),
                "collections": {
                    "baeume": {"profile": "street-trees", "source": source, "mapping": MAPPING}
                },
            }
        }
        client = client_for(tenants, folder)
        client.__enter__()
        _CLIENTS["c"] = client
    return _CLIENTS["c"]


def test_two_writers_holding_one_version_one_wins(tmp_path: Path) -> None:
    """Two connectors on one file (as two worker processes would be): the file's write lock
    orders them, and the second finds the record changed instead of overwriting it."""
    path = make_file(tmp_path)

    def connector() -> GeoPackageConnector:
        config = GeoPackageConnector.Config.model_validate(
            {"path": str(path), "table": "baeume", "id_field": "baum_nr", "writable": True}
        )
        return GeoPackageConnector(config, base_dir=tmp_path, name="test/baeume")

    async def race() -> list[Any]:
        first, second = connector(), connector()
        original = await first.get("m-1")
        assert original is not None

        def unchanged(stored: dict[str, Any]) -> bool:
            return bool(stored == original)

        try:
            writes = [
                c.write_if("update", "m-1", {"properties": {"hoehe_cm": n}}, unchanged)
                for c, n in ((first, 100), (second, 200))
            ]
            return list(await asyncio.gather(*writes, return_exceptions=True))
        finally:
            await first.close()
            await second.close()

    results = asyncio.run(race())
    assert sorted(type(r).__name__ for r in results) == ["SourceStale", "bool"]
    assert rows(path, "SELECT hoehe_cm FROM baeume") in ([(100,)], [(200,)])


def test_trees_created_at_once_each_read_back_at_once_from_memory(tmp_path: Path) -> None:
    """Creates that land while the in-memory index reloads after another create are not
    lost from it: each new tree reads back at once (found by the Part 4 conformance run)."""
    import httpx

    from gateway.app import create_app
    from gateway.config import parse_config

    source = gpkg_source(make_file(tmp_path), in_memory=True)
    collection = {"profile": "street-trees", "source": source, "mapping": MAPPING}
    tenants = {"gp": {"access": access(), "collections": {"baeume": collection}}}
    app = create_app(parse_config({"tenants": tenants}, "writes.yaml", tmp_path))

    async def create_many(n: int) -> list[int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await client.get(ITEMS)  # the index is loaded before the writes
                body = orjson.dumps(tree())
                made = await asyncio.gather(
                    *(client.post(ITEMS, content=body, headers=WRITE) for _ in range(n))
                )
                assert [m.status_code for m in made] == [201] * n
                return [(await client.get(m.headers["location"])).status_code for m in made]

    assert asyncio.run(create_many(8)) == [200] * 8
