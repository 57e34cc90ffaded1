"""The README's walkthrough "Adding a city with the wizard" works as written: the draft of
Potsdam's CSV is a configuration `map check` accepts, and the gateway serves it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.cli import app
from gateway.config import load_config

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "examples" / "wizard" / "potsdam_baeume.csv"


def test_draft_check_and_serve_potsdam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(CSV, tmp_path / CSV.name)
    monkeypatch.chdir(tmp_path)
    args = ["map", "draft", "--source", CSV.name, "--profile", "street-trees"]
    drafted = CliRunner().invoke(app, [*args, "--tenant", "potsdam", "--collection", "baeume"])
    assert drafted.exit_code == 0, drafted.output
    (tmp_path / "potsdam.yaml").write_text(drafted.stdout, "utf-8")
    readme = (ROOT / "README.md").read_text("utf-8")
    for rule in (
        "height_m: {from: HOEHE_DM, type: number, factor: 0.1}",
        "street: {template: '{STRASSE} {HNR}'}",
    ):
        assert rule in drafted.stdout and rule in readme
    checked = CliRunner().invoke(app, ["map", "check", "potsdam.yaml"])
    assert checked.exit_code == 0, checked.output
    assert "accepted, 40 records, 40 valid" in checked.stdout
    with TestClient(create_app(load_config(tmp_path / "potsdam.yaml"))) as client:
        page = client.get("/potsdam/collections/baeume/items", params={"limit": 100}).json()
    assert len(page["features"]) == 40
    first = page["features"][0]["properties"]
    assert first["genus"] in {"Tilia", "Acer", "Quercus", "Platanus", "Betula"}
    assert 0 < first["height_m"] < 60
