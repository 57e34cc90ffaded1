"""The command line: `config check` and start-up of `serve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from typer.testing import CliRunner

import profiles
from gateway.cli import app
from tests.conftest import start_gateway

runner = CliRunner()
DEMO_YAML = Path(__file__).resolve().parent.parent / "gateway" / "demo" / "demo.yaml"


def test_config_check_probes_every_demo_source(demo_dir: Path, demo_services: str):
    result = runner.invoke(
        app,
        ["config", "check", str(DEMO_YAML)],
        env={
            "TWINBRIDGE_DEMO_DIR": str(demo_dir),
            "TWINBRIDGE_DEMO_SERVICES": demo_services,
            "COLUMNS": "200",
        },
    )
    assert result.exit_code == 0, result.output
    for tenant in ("hamburg", "leipzig", "muenchen"):
        assert tenant in result.output
    assert result.output.count("ok") >= 3


def test_config_check_fails_and_names_the_broken_source(
    demo_dir: Path, demo_services: str, tmp_path: Path
):
    config = yaml.safe_load(DEMO_YAML.read_text())
    config["tenants"]["leipzig"]["collections"]["baumkataster"]["source"]["path"] = "gone.csv"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = runner.invoke(
        app,
        ["config", "check", str(broken)],
        env={
            "TWINBRIDGE_DEMO_DIR": str(demo_dir),
            "TWINBRIDGE_DEMO_SERVICES": demo_services,
            "COLUMNS": "200",
        },
    )
    assert result.exit_code == 1
    assert "gone.csv" in result.output


def test_config_check_names_a_mapped_field_the_source_does_not_have(
    demo_dir: Path, demo_services: str, tmp_path: Path
):
    config = yaml.safe_load(DEMO_YAML.read_text())
    mapping = config["tenants"]["hamburg"]["collections"]["strassenbaeume"]["mapping"]
    mapping["properties"]["genus"] = "gatung"
    broken = tmp_path / "typo.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = runner.invoke(
        app,
        ["config", "check", str(broken)],
        env={
            "TWINBRIDGE_DEMO_DIR": str(demo_dir),
            "TWINBRIDGE_DEMO_SERVICES": demo_services,
            "COLUMNS": "300",
        },
    )
    assert result.exit_code == 1
    assert "'gatung'" in result.output and "gattung" in result.output


def test_config_check_reports_invalid_yaml_without_traceback(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants:\n  Hamburg: {}\n")
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "tenants" in result.output and "Traceback" not in result.output


def test_every_demo_feature_validates_against_the_profile(demo_client):
    profile = profiles.get("street-trees")
    doc = demo_client.get("/collections/street-trees/items?limit=10000").json()
    assert doc["numberReturned"] == doc["numberMatched"] > 6000
    problems = [(f["id"], p) for f in doc["features"] for p in profile.validate(f)]
    assert problems == []


def test_profile_rejects_its_invalid_examples():
    profile = profiles.get("street-trees")
    invalid = sorted((profile.path / "examples" / "invalid").glob("*.json"))
    assert len(invalid) >= 5
    for example in invalid:
        assert profile.validate(json.loads(example.read_text())), example.name


def test_serve_answers_items_as_soon_as_it_is_up(demo_dir: Path):
    """Sources are opened during start-up, so the first request finds them loaded
    (start-up time itself is measured by bench/startup.py, not by a timed test)."""
    proc, url = start_gateway({"TWINBRIDGE_DEMO_DIR": str(demo_dir)})
    try:
        ready = httpx.get(f"{url}/ready").json()
        assert ready == {"status": "ready", "failed": [], "open_circuits": []}
        assert httpx.get(f"{url}/collections/street-trees/items?limit=1").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_broken_config_with_a_message(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: {max_limit: -1}\n")
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        env=os.environ.copy(),
    )
    assert done.returncode == 2 and "server.max_limit" in done.stdout + done.stderr


def test_config_check_reads_escaped_column_names_and_shows_brackets(tmp_path: Path):
    """A register column 'Nennleistung [kW]' is read by the escaped path; a missing one is
    named with its brackets (not eaten as console markup)."""
    (tmp_path / "register.csv").write_text(
        "ID;Nennleistung [kW];lon;lat\n1;22;12.37;51.34\n", encoding="utf-8"
    )
    rule = "{from: 'Nennleistung \\[kW\\]', type: number}"
    config = tmp_path / "register.yaml"
    template = (
        "tenants:\n  leipzig:\n    collections:\n      register:\n"
        "        source: {connector: csv, path: register.csv, delimiter: ';', x: lon, y: lat,"
        " id_field: ID}\n"
        "        mapping:\n          id: ID\n          properties:\n            power: RULE\n"
    )
    config.write_text(template.replace("RULE", rule), encoding="utf-8")
    ok = runner.invoke(app, ["config", "check", str(config)], env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    config.write_text(template.replace("RULE", rule.replace("kW", "W")), encoding="utf-8")
    bad = runner.invoke(app, ["config", "check", str(config)], env={"COLUMNS": "300"})
    assert bad.exit_code == 1
    assert "Nennleistung [kW]" in bad.output and "Nennleistung \\[W\\]" in bad.output
