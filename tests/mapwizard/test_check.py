"""`map check`: counts over the whole source, per property; a broken mapping fails."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from gateway.cli import app

GOOD = ["Acer;12,5;1990;24.12.2023"]
HEADER = "nr;gattung;hoehe_m;pflanzjahr;stand;x;y\n"


def write_csv(path: Path, rows: list[str]) -> Path:
    lines = [f"{i};{row};10,0;53,5" for i, row in enumerate(rows, 1)]
    path.write_text(HEADER + "\n".join(lines) + "\n", "utf-8")
    return path


def write_config(tmp_path: Path, csv: Path, **properties: object) -> Path:
    mapping = {
        "species_scientific": "gattung",
        "species_german": "gattung",
        "genus": "gattung",
        "planting_year": {"from": "pflanzjahr", "type": "integer"},
        "height_m": {"from": "hoehe_m", "type": "number"},
        "crown_diameter_m": {"from": "hoehe_m", "type": "number"},
        "trunk_circumference_cm": {"from": "hoehe_m", "type": "number"},
        "district": {"constant": "Mitte"},
        "street": {"constant": "Hauptstraße"},
        "last_update": {"from": "stand", "type": "date", "format": "%d.%m.%Y"},
        **properties,
    }
    source = {
        "connector": "csv",
        "path": str(csv),
        "delimiter": ";",
        "decimal": ",",
        "x": "x",
        "y": "y",
        "id_field": "nr",
    }
    config = {
        "tenants": {
            "stadt": {
                "collections": {
                    "baeume": {
                        "profile": "street-trees",
                        "source": source,
                        "mapping": {"id": "nr", "properties": mapping},
                    }
                }
            }
        }
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return path


def run_check(config: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["map", "check", str(config), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)[0] if result.stdout.strip() else {}


def test_a_clean_source_is_accepted(tmp_path: Path) -> None:
    code, report = run_check(write_config(tmp_path, write_csv(tmp_path / "a.csv", GOOD * 50)))
    assert code == 0 and report["accepted"] and report["items"] == 50


def test_every_bad_value_of_the_whole_source_is_counted(tmp_path: Path) -> None:
    rows = GOOD * 2000 + ["Acer;n/a;1990;24.12.2023"] * 37 + ["Acer;75,0;1990;24.12.2023"] * 11
    rows += ["Pinus;12,5;1990;24.12.2023"] * 5 + ["Acer;12,5;1990;2023-12-24"] * 3
    code, report = run_check(write_config(tmp_path, write_csv(tmp_path / "a.csv", rows)))
    props = report["properties"]
    assert code == 1 and not report["accepted"] and report["items"] == len(rows)
    assert props["height_m"]["failed_rule"] == 37
    assert props["height_m"]["out_of_range"] == 11  # the profile allows 0..60 m
    assert props["genus"]["outside_code_list"] == 5
    assert props["last_update"]["failed_rule"] == 3
    assert props["last_update"]["examples"] == ["'2023-12-24'"] * 3
    assert props["street"]["failed_rule"] == 0


def test_a_broken_mapping_fails_with_a_nonzero_exit(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "a.csv", GOOD * 5)
    config = write_config(tmp_path, csv, genus="gatung")  # a typo
    del_street = yaml.safe_load(config.read_text("utf-8"))
    del del_street["tenants"]["stadt"]["collections"]["baeume"]["mapping"]["properties"]["street"]
    config.write_text(yaml.safe_dump(del_street, allow_unicode=True), "utf-8")
    code, report = run_check(config)
    assert code == 1
    assert report["unknown_fields"] == ["gatung"]
    assert report["missing_required"] == ["street"]
    console = CliRunner().invoke(app, ["map", "check", str(config)])
    assert console.exit_code == 1 and "MISSING" in console.stdout and "gatung" in console.stdout


def test_an_unreadable_configuration_exits_with_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants: {stadt: {collections: {b: {profile: street-trees}}}}", "utf-8")
    assert CliRunner().invoke(app, ["map", "check", str(bad)]).exit_code == 2


def test_a_source_that_cannot_be_read_is_named_and_not_accepted(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "a.csv", GOOD * 4)
    csv.write_text(csv.read_text("utf-8").replace("\n2;", "\n1;"), "utf-8")
    code, report = run_check(write_config(tmp_path, csv))
    assert code == 1 and not report["accepted"]
    assert "duplicate id '1'" in report["error"]


def test_values_that_take_the_default_are_counted_but_do_not_fail(tmp_path: Path) -> None:
    rows = GOOD * 20 + ["Pinus;12,5;1990;24.12.2023"] * 4 + [";12,5;1990;24.12.2023"] * 2
    district = {"from": "gattung", "codes": {"Acer": "Mitte"}, "default": "unbekannt"}
    config = write_config(tmp_path, write_csv(tmp_path / "a.csv", rows), district=district)
    _, report = run_check(config)
    props = report["properties"]
    assert props["district"]["defaulted"] == 4  # Pinus has no code; an empty cell is absent
    assert props["district"]["failed_rule"] == 0 and props["district"]["present"] == 24
