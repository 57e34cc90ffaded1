"""The Features Part 4 checks (create, replace, update, delete) against TwinBridge over a
copy of the demo's München tree cadastre (a GeoPackage), with the demo's write key: all
pass; against the same gateway broken in one way per case: exactly the check of that
requirement fails; and without --allow-writes nothing is written."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.model import Status
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, by_check, explain, flagged, run_suite
from tests.postgis_fixtures import postgis_fixture  # noqa: F401

KEY = "muenchen-demo-write-key"
ITEMS = r"/collections/baeume/items$"
ITEM = r"/collections/baeume/items/[^/]+$"
ROOT = "http://testserver/muenchen/"
PART4 = [
    "part4/create",
    "part4/replace",
    "part4/update",
    "part4/delete",
    "part4/if-match-stale",
    "part4/create-invalid",
    "part4/replace-missing",
    "part4/delete-missing",
]


def config(copy: Path) -> Any:
    from gateway.config import parse_config

    with resources.as_file(resources.files("gateway.demo") / "demo.yaml") as path:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    tenant = raw["tenants"]["muenchen"]
    trees, buildings = tenant["collections"]["baeume"], tenant["collections"]["gebaeude"]
    trees["source"]["path"] = str(copy)  # the buildings are a GeoJSON file: read-only
    collections = {"baeume": trees, "gebaeude": buildings}
    tenants = {"muenchen": {"access": tenant["access"], "collections": collections}}
    return parse_config({"tenants": tenants}, "part4.yaml", copy.parent)


@pytest.fixture(scope="module")
def trees(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("part4") / "muenchen.gpkg"
    shutil.copy(demo_dir / "muenchen.gpkg", copy)
    return copy


@pytest.fixture(scope="module")
def gateway(trees: Path, loop_thread: LoopThread) -> Iterator[Any]:
    """The gateway over the copy, opened (lifespan) on the session loop."""
    from gateway.app import create_app

    app = create_app(config(trees))
    lifespan = app.router.lifespan_context(app)
    loop_thread.run(lifespan.__aenter__())
    yield app
    loop_thread.run(lifespan.__aexit__(None, None, None))


def count(trees: Path) -> int:
    with sqlite3.connect(trees) as conn:
        return int(conn.execute("SELECT count(*) FROM baeume").fetchone()[0])


def run_part4(lt: LoopThread, app: Any, **options: Any):
    options.setdefault("headers", {"X-API-Key": KEY})
    options.setdefault("allow_writes", True)
    return run_suite(lt, app, ROOT, checks=["part4/"], **options)


def test_every_part4_check_passes_on_twinbridge_and_leaves_no_item(
    loop_thread: LoopThread, gateway: Any, trees: Path
):
    before = count(trees)
    report = run_part4(loop_thread, gateway)
    results = by_check(report)
    assert sorted(results) == sorted(PART4)
    for r in report.results:
        if r.subject == "baeume":
            assert r.status is Status.PASS, explain(report)
        else:  # the read-only buildings: the API definition offers no write on them
            assert r.status is Status.SKIP and "API definition has no" in r.message, r.message
    assert count(trees) == before
    assert report.options["headers"] == {"X-API-Key": "(not shown)"}
    assert KEY not in str(report.to_dict())


def test_without_allow_writes_every_part4_check_skips_and_nothing_is_written(
    loop_thread: LoopThread, gateway: Any, trees: Path
):
    before = count(trees)
    report = run_part4(loop_thread, gateway, allow_writes=False)
    assert len(report.results) == 2 * len(PART4)
    for r in report.results:
        assert r.status is Status.SKIP and "--allow-writes" in r.message, r.message
        assert all(e.method in ("GET", "HEAD") for e in r.evidence), r.label
    assert count(trees) == before


def test_part4_declared_by_the_collection_only_is_found(loop_thread: LoopThread, gateway: Any):
    """A server may declare Part 4 in a collection's conformsTo and not in /conformance."""
    part4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"

    def undeclare(doc: Any, scope: Any) -> Any:
        doc["conformsTo"] = [c for c in doc["conformsTo"] if not c.startswith(part4)]
        return doc

    def declare(doc: Any, scope: Any) -> Any:
        doc["conformsTo"] = [*doc.get("conformsTo", []), f"{part4}create-replace-delete"]
        return doc

    app = B.rewrite_json(gateway, B.on_path(r"/conformance$"), undeclare)
    app = B.rewrite_json(app, B.on_path(r"/collections/baeume$"), declare)
    report = run_part4(loop_thread, app, collection="baeume")
    statuses = {r.check: r.status for r in report.results}
    assert statuses.pop("part4/update") is Status.SKIP  # the update class is not declared
    assert set(statuses.values()) == {Status.PASS}, explain(report)


def _patch_unsets_height(doc: Any, scope: Any) -> Any:
    return {**doc, "properties": {**doc.get("properties", {}), "height_m": None}}


# (name, breaker, the checks that must fail: exactly those)
CASES: list[tuple[str, Any, set[str]]] = [
    (
        "POST answers 200 instead of 201",
        lambda a: B.swap_status(a, B.on_path(ITEMS, "POST"), 201, 200),
        {"part4/create"},
    ),
    (
        "POST answers 201 without Location",
        lambda a: B.set_header(a, B.on_path(ITEMS, "POST"), "location", None),
        {"part4/create"},
    ),
    (
        "PUT ignores If-Match",
        lambda a: B.drop_request_header(a, B.on_path(ITEM, "PUT"), "if-match"),
        {"part4/if-match-stale"},
    ),
    (
        "DELETE answers 204 and the item stays readable",
        lambda a: B.pretend_delete(a, B.on_path(ITEM, "DELETE")),
        {"part4/delete"},
    ),
    (
        "PATCH unsets a property it was not given",
        lambda a: B.rewrite_request_json(a, B.on_path(ITEM, "PATCH"), _patch_unsets_height),
        {"part4/update"},
    ),
    (
        "PUT answers 204 and changes nothing",
        lambda a: B.answer(a, B.on_path(ITEM, "PUT"), 204),
        # the replacement is not there; the ETag stays after a PUT; a missing item "replaced"
        {"part4/replace", "part4/if-match-stale", "part4/replace-missing"},
    ),
    (
        "an invalid POST body answers 500",
        lambda a: B.swap_status(a, B.on_path(ITEMS, "POST"), 400, 500),
        {"part4/create-invalid"},
    ),
    (
        "PUT of a missing item answers 204",
        lambda a: B.swap_status(a, B.on_path(ITEM, "PUT"), 404, 204),
        {"part4/replace-missing"},
    ),
    (
        "DELETE of a missing item answers 204",
        lambda a: B.swap_status(a, B.on_path(ITEM, "DELETE"), 404, 204),
        {"part4/delete-missing"},
    ),
]


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_part4_check_fails_on_the_server_that_breaks_it(
    loop_thread: LoopThread, gateway: Any, name: str, breaker: Any, expected: set[str]
):
    report = run_part4(loop_thread, breaker(gateway), collection="baeume")
    assert flagged(report) == expected, f"{name}:\n{explain(report)}"


def test_cli_writes_with_the_header_it_never_reports(demo_dir: Path, tmp_path: Path):
    """`--allow-writes --header 'X-API-Key: …'` on a real socket: Part 4 passes, the key
    appears in no report; without the header the server refuses the create (401)."""
    from tests.conformance.test_cli import _serve, twinbridge

    copy = tmp_path / "muenchen.gpkg"
    shutil.copy(demo_dir / "muenchen.gpkg", copy)
    os.environ["TWINBRIDGE_PART4_GPKG"] = str(copy)
    proc, url = _serve("tests.conformance.apps:part4_gateway")
    try:
        args = ["conformance", f"{url}/muenchen/", "--collection", "baeume", "--allow-writes"]
        report, page = tmp_path / "r.json", tmp_path / "r.html"
        done = twinbridge(
            *args,
            "--header",
            f"X-API-Key: {KEY}",
            "--json",
            str(report),
            "--html",
            str(page),
            "--quiet",
        )
        doc = json.loads(report.read_text(encoding="utf-8"))
        part4 = {r["check"]: r["status"] for r in doc["results"] if r["check"] in PART4}
        assert part4 == dict.fromkeys(PART4, "pass"), done.stdout + done.stderr
        assert done.returncode == 0, done.stdout + done.stderr
        assert doc["options"]["headers"] == {"X-API-Key": "(not shown)"}
        for text in (report.read_text(encoding="utf-8"), page.read_text(encoding="utf-8")):
            assert KEY not in text
        refused = twinbridge(*args, "--json", str(report), "--quiet")
        assert refused.returncode == 1
        doc = json.loads(report.read_text(encoding="utf-8"))
        create = next(r for r in doc["results"] if r["check"] == "part4/create")
        assert create["status"] == "fail" and "401" in create["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_header_without_a_name_is_a_usage_error_that_does_not_echo_it():
    from tests.conformance.test_cli import twinbridge

    done = twinbridge("conformance", "http://127.0.0.1:9/", "--header", "s3cret-token-value")
    assert done.returncode == 2
    assert "s3cret-token-value" not in done.stdout + done.stderr
    assert "Name: value" in done.stdout + done.stderr


PG_SETUP = """
CREATE TABLE conf_part4_baeume (
  baum_nr serial PRIMARY KEY,
  art text NOT NULL, art_de text, gattung_code text, pflanzjahr smallint,
  hoehe_cm integer, krone_r numeric(6,3), umfang_cm integer, bezirk text,
  strasse text, hausnr text, stand date,
  geom geometry(Point, 25832));
INSERT INTO conf_part4_baeume (art, art_de, gattung_code, pflanzjahr, hoehe_cm, krone_r,
  umfang_cm, bezirk, strasse, hausnr, stand, geom)
VALUES ('Quercus robur', 'Stiel-Eiche', 'QU', 1975, 2000, 6.05, 210, 'Mitte', 'Jungfernstieg',
  '1', '2023-11-15', ST_SetSRID(ST_MakePoint(566000, 5934000), 25832)),
  ('Tilia cordata', 'Winter-Linde', 'TI', 1990, 1250, 4.15, 140, 'Altona', 'Elbchaussee',
  '7', '2024-03-01', ST_SetSRID(ST_MakePoint(559000, 5933000), 25832));
"""


async def _pg(dsn: str, sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await (conn.execute(sql) if ";" in sql else conn.fetchval(sql))
    finally:
        await conn.close()


@pytest.mark.integration
def test_every_part4_check_passes_on_twinbridge_over_postgis(loop_thread: LoopThread, postgis: Any):
    """The same checks over a PostGIS table (If-Match checked again inside the row lock)."""
    from gateway.app import create_app
    from gateway.config import parse_config
    from tests.features.write_fixtures import MAPPING, WRITER, access

    asyncio.run(_pg(postgis.dsn, PG_SETUP))
    source = {"connector": "postgis", **postgis.options("conf_part4_baeume"), "writable": True}
    collection = {"profile": "street-trees", "source": source, "mapping": MAPPING}
    tenants = {"pg": {"access": access(), "collections": {"baeume": collection}}}
    app = create_app(parse_config({"tenants": tenants}, "part4.yaml", Path.cwd()))
    lifespan = app.router.lifespan_context(app)
    loop_thread.run(lifespan.__aenter__())
    try:
        report = run_suite(
            loop_thread,
            app,
            "http://testserver/pg/",
            checks=["part4/"],
            allow_writes=True,
            headers={"X-API-Key": WRITER},
        )
    finally:
        loop_thread.run(lifespan.__aexit__(None, None, None))
    assert {r.check: r.status for r in report.results} == dict.fromkeys(PART4, Status.PASS), (
        explain(report)
    )
    assert asyncio.run(_pg(postgis.dsn, "SELECT count(*) FROM conf_part4_baeume")) == 2
