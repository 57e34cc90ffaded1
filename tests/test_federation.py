"""Federation and resilience: failing members, timeouts, files changing on disk."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway import catalog as catalog_module
from gateway.app import create_app
from gateway.config import parse_config

PROFILE_FIELDS = [
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
]


def write_trees(path: Path, count: int, start: int = 1) -> None:
    features = [
        {
            "type": "Feature",
            "id": i,
            "geometry": {"type": "Point", "coordinates": [10.0 + i / 1000, 53.5]},
            "properties": {
                "species_scientific": "Tilia cordata",
                "species_german": "Winter-Linde",
                "genus": "Tilia",
                "planting_year": 1990,
                "height_m": 12.5,
                "crown_diameter_m": 6.0,
                "trunk_circumference_cm": 120.0,
                "district": "Altona",
                "street": "Elbchaussee 1",
                "last_update": "2024-05-01",
            },
        }
        for i in range(start, start + count)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def config(
    tmp_path: Path, files: dict[str, str], partial: str = "flag", timeout: float = 5, **server
):
    tenants = {
        tenant: {
            "collections": {
                "trees": {
                    "profile": "street-trees",
                    "source": {"connector": "geojson", "path": name},
                    "mapping": {"properties": {f: f for f in PROFILE_FIELDS}},
                }
            }
        }
        for tenant, name in files.items()
    }
    server["federation"] = {"partial": partial, "timeout": timeout}
    server.setdefault("resilience", {"timeout": timeout})
    data = {"server": server, "tenants": tenants}
    return parse_config(data, "test.yaml", tmp_path)


def test_a_failing_member_gives_a_flagged_partial_result(tmp_path: Path):
    write_trees(tmp_path / "a.geojson", 3)
    with TestClient(create_app(config(tmp_path, {"a": "a.geojson", "b": "missing.geojson"}))) as c:
        response = c.get("/collections/street-trees/items")
        assert response.status_code == 200
        doc = response.json()
        assert [f["id"] for f in doc["features"]] == ["a.trees.1", "a.trees.2", "a.trees.3"]
        assert "numberMatched" not in doc  # never a wrong number
        assert doc["twinbridge:failedSources"][0]["source"] == "b/trees"
        assert "b/trees" in response.headers["warning"]
        ready = c.get("/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["failed"][0]["source"] == "b/trees"
        assert "missing.geojson" not in ready.text  # paths are for the log
        direct = c.get("/b/collections/trees/items")
        assert direct.status_code == 502 and "b/trees" in direct.json()["description"]


def test_partial_fail_mode_turns_a_failing_member_into_502(tmp_path: Path):
    write_trees(tmp_path / "a.geojson", 3)
    loaded = config(tmp_path, {"a": "a.geojson", "b": "missing.geojson"}, partial="fail")
    with TestClient(create_app(loaded)) as c:
        response = c.get("/collections/street-trees/items")
        assert response.status_code == 502
        assert response.json()["code"] == "UpstreamFailed"


def test_a_hanging_source_times_out_with_504_naming_it(tmp_path: Path):
    write_trees(tmp_path / "a.geojson", 3)
    write_trees(tmp_path / "b.geojson", 3)
    app = create_app(
        config(tmp_path, {"a": "a.geojson", "b": "b.geojson"}, partial="fail", timeout=0.2)
    )
    with TestClient(app) as c:
        source = app.state.catalog.tenants["b"].collections["trees"]

        async def hang():
            await asyncio.sleep(30)

        source._fresh_memory = hang
        response = c.get("/b/collections/trees/items")
        assert response.status_code == 504 and "b/trees" in response.json()["description"]
        assert c.get("/a/collections/trees/items").status_code == 200


def test_a_federation_answers_by_its_own_deadline_whatever_its_members_allow(tmp_path: Path):
    write_trees(tmp_path / "a.geojson", 3)
    write_trees(tmp_path / "b.geojson", 3)
    loaded = config(
        tmp_path, {"a": "a.geojson", "b": "b.geojson"}, timeout=0.3, resilience={"timeout": 5}
    )
    app = create_app(loaded)
    with TestClient(app) as c:
        source = app.state.catalog.tenants["b"].collections["trees"]

        async def hang():
            await asyncio.sleep(30)

        source._fresh_memory = hang
        started = time.perf_counter()
        response = c.get("/collections/street-trees/items?limit=10")
        assert time.perf_counter() - started < 0.4
        assert response.status_code == 200
        assert [f["source"] for f in response.json()["twinbridge:failedSources"]] == ["b/trees"]
        assert not source.breaker._failures  # the federation's budget ran out, not b's


def test_files_are_reloaded_when_they_change_on_disk(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(catalog_module, "RELOAD_CHECK_SECONDS", 0.0)
    path = tmp_path / "a.geojson"
    write_trees(path, 3)
    with TestClient(create_app(config(tmp_path, {"a": "a.geojson"}))) as c:
        assert c.get("/a/collections/trees/items").json()["numberMatched"] == 3
        write_trees(path, 5)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert c.get("/a/collections/trees/items").json()["numberMatched"] == 5


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 10])
def test_paging_across_uneven_members_is_exact(tmp_path: Path, limit: int):
    for name, count in (("a", 3), ("b", 0), ("c", 4)):
        write_trees(tmp_path / f"{name}.geojson", count)
    files = {t: f"{t}.geojson" for t in ("a", "b", "c")}
    with TestClient(create_app(config(tmp_path, files))) as c:
        url, seen = f"/collections/street-trees/items?limit={limit}", []
        while url:
            doc = c.get(url).json()
            assert doc["numberMatched"] == 7
            seen += [f["id"] for f in doc["features"]]
            url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), None)
        assert seen == [f"a.trees.{i}" for i in (1, 2, 3)] + [f"c.trees.{i}" for i in (1, 2, 3, 4)]


def test_limit_is_clamped_to_the_maximum_and_next_continues(tmp_path: Path):
    write_trees(tmp_path / "a.geojson", 5)
    with TestClient(
        create_app(config(tmp_path, {"a": "a.geojson"}, max_limit=2, default_limit=1))
    ) as c:
        doc = c.get("/collections/street-trees/items?limit=1000").json()
        assert doc["numberReturned"] == 2 and doc["numberMatched"] == 5
        nxt = next(lk["href"] for lk in doc["links"] if lk["rel"] == "next")
        assert "offset=2" in nxt
        assert c.get("/api").json()["components"]["parameters"]["limit"]["schema"]["maximum"] == 2
