"""`twinbridge quality URL --profile P` against the demo, served by `twinbridge serve`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app

runner = CliRunner()


def test_quality_of_the_demo_trees_writes_json_and_html(live_demo: str, tmp_path: Path):
    report, page = tmp_path / "q.json", tmp_path / "q.html"
    result = runner.invoke(
        app,
        [
            "quality",
            f"{live_demo}/",
            "--profile",
            "street-trees",
            "--json",
            str(report),
            "--html",
            str(page),
            "--page-size",
            "500",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    assert doc["walk"]["complete"] is True
    assert doc["walk"]["pages"] > 1
    quality = doc["quality"]
    assert quality["items"] == doc["walk"]["numberMatched"] > 0
    assert quality["valid"]["share"] == 1.0  # the demo is valid street-trees
    assert quality["ids"]["duplicates"] == 0
    assert quality["freshness"]["newest"] is not None
    assert "page 1:" in result.output  # plain lines: not a terminal
    html = page.read_text()
    assert "<h1>Data quality: street-trees" in html and "<script" not in html


def test_one_tenant_collection_by_id(live_demo: str, tmp_path: Path):
    report = tmp_path / "q.json"
    url = f"{live_demo}/leipzig/"
    args = ["quality", url, "--profile", "street-trees", "--collection", "baumkataster"]
    result = runner.invoke(app, [*args, "--json", str(report), "--quiet"])
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    assert doc["target"].endswith("/leipzig/collections/baumkataster/items")
    assert doc["quality"]["items"] > 0


def test_a_walk_that_fails_exits_1_and_still_writes_its_report(live_demo: str, tmp_path: Path):
    report = tmp_path / "q.json"
    args = ["quality", live_demo, "--profile", "street-trees", "--collection", "nothing-here"]
    result = runner.invoke(app, [*args, "--json", str(report), "--quiet"])
    assert result.exit_code == 1
    doc = json.loads(report.read_text())
    assert "answered 404" in doc["walk"]["stopped"]


def test_an_unknown_profile_is_bad_usage():
    result = runner.invoke(app, ["quality", "http://127.0.0.1:9/", "--profile", "no-such"])
    assert result.exit_code == 2
    assert "unknown profile" in result.output
