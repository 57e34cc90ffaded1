"""`map draft`: fields matched by the profile's German and English synonyms, units from
names and value ranges, code lists by values, dates by format, unmatched required listed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import profiles
from gateway.config import parse_config
from gateway.mapwizard.draft import Draft, draft
from gateway.mapwizard.emit import render
from gateway.mapwizard.source import resolve


def write_trees(path: Path, rows: list[dict[str, Any]]) -> Path:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [10.0, 53.5]},
            "properties": row,
        }
        for row in rows
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def tree(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "tree_id": f"T{i}",
        "scientific_name": "Tilia cordata",
        "common_name": "Winter-Linde",
        "genus": "Tilia",
        "year_planted": 1990 + i % 20,
        "tree_height": 10.0 + i % 9,
        "crown_width": 5.0 + i % 4,
        "girth": 80 + i,
        "borough": "Mitte",
        "street": "Hauptstraße",
        "house_number": str(i),
        "updated": "2024-05-01",
        **extra,
    }


def drafted(path: Path, profile: str = "street-trees") -> Draft:
    return asyncio.run(draft(resolve(str(path)), profiles.get(profile)))


def rule(d: Draft, name: str) -> Any:
    return d.chosen[name].rule


def test_english_names_are_matched_by_the_profiles_synonyms(tmp_path: Path) -> None:
    d = drafted(write_trees(tmp_path / "t.geojson", [tree(i) for i in range(30)]))
    assert rule(d, "species_scientific") == "scientific_name"
    assert rule(d, "species_german") == "common_name"
    assert rule(d, "crown_diameter_m") == {"from": "crown_width", "type": "number"}
    assert rule(d, "trunk_circumference_cm") == {"from": "girth", "type": "number"}
    assert rule(d, "district") == "borough"
    assert rule(d, "street") == {"template": "{street} {house_number}"}
    assert d.id_field == "tree_id"
    assert not d.unmatched


def test_a_unit_in_the_name_and_a_diameter_or_radius_give_factors(tmp_path: Path) -> None:
    rows = [
        {"nr": i, "Baumhoehe_cm": 1500 + i, "Stammdurchmesser_cm": 30 + i, "Kronenradius_m": 3.5}
        for i in range(20)
    ]
    d = drafted(write_trees(tmp_path / "t.geojson", rows))
    assert rule(d, "height_m") == {"from": "Baumhoehe_cm", "type": "number", "factor": 0.01}
    circumference = rule(d, "trunk_circumference_cm")
    assert circumference["from"] == "Stammdurchmesser_cm"
    assert abs(circumference["factor"] - 3.141592653589793) < 1e-12
    assert rule(d, "crown_diameter_m")["factor"] == 2.0
    assert "pi" in " ".join(d.chosen["trunk_circumference_cm"].evidence)


def test_centimetres_are_recognised_by_their_range_when_the_name_says_nothing(
    tmp_path: Path,
) -> None:
    rows = [{"hoehe": h} for h in (850, 1200, 1730, 2210, 990, 640, 1880)]
    d = drafted(write_trees(tmp_path / "t.geojson", rows))
    assert rule(d, "height_m") == {"from": "hoehe", "type": "number", "factor": 0.01}
    metres = drafted(write_trees(tmp_path / "m.geojson", [{"hoehe": h / 100} for h in (850, 1200)]))
    assert rule(metres, "height_m") == {"from": "hoehe", "type": "number"}


def test_code_lists_are_matched_by_values(tmp_path: Path) -> None:
    rows = [{"gattung_code": c} for c in ("TI", "AC", "QU", "TI", "PL")]
    d = drafted(write_trees(tmp_path / "t.geojson", rows))
    assert rule(d, "genus") == {
        "from": "gattung_code",
        "codes": {"TI": "Tilia", "AC": "Acer", "QU": "Quercus", "PL": "Platanus"},
    }


def test_codes_by_label_by_listed_word_and_by_code_space(tmp_path: Path) -> None:
    rows = [
        {"Status": s, "Steckertypen": c, "function": f}
        for s, c, f in [
            ("In Betrieb", "Typ 2; CCS", "31001_1010"),
            ("außer Betrieb", "CHAdeMO", "31001_2020"),
            ("In Planung", "Typ 2", "31001_1010"),
        ]
    ]
    ev = drafted(write_trees(tmp_path / "ev.geojson", rows), "ev-charging-stations")
    assert rule(ev, "status")["codes"] == {
        "In Betrieb": "operational",
        "außer Betrieb": "out_of_service",
        "In Planung": "planned",
    }
    assert rule(ev, "connector_types") == {
        "from": "Steckertypen",
        "split": ";",
        "codes": {"CCS": "ccs2", "CHAdeMO": "chademo", "Typ 2": "type2"},
    }
    buildings = drafted(write_trees(tmp_path / "b.geojson", rows), "buildings")
    assert rule(buildings, "function")["codes"] == {
        "31001_1010": "residential",
        "31001_2020": "office",
    }


def test_dates_are_read_by_their_format(tmp_path: Path) -> None:
    german = drafted(
        write_trees(tmp_path / "a.geojson", [{"stand": "24.12.2023"}, {"stand": "01.02.2020"}])
    )
    assert rule(german, "last_update") == {"from": "stand", "type": "date", "format": "%d.%m.%Y"}
    iso = drafted(write_trees(tmp_path / "b.geojson", [{"stand": "2023-12-24T10:00:00Z"}]))
    assert rule(iso, "last_update") == {"from": "stand", "type": "date"}
    not_dates = drafted(write_trees(tmp_path / "c.geojson", [{"stand": "gestern"}]))
    assert "last_update" not in not_dates.chosen


def test_unmatched_required_properties_are_listed_in_the_draft(tmp_path: Path) -> None:
    d = drafted(write_trees(tmp_path / "t.geojson", [{"gattung": "Acer", "pflanzjahr": 1990}]))
    text = render(d)
    assert "UNMATCHED required" in text
    for name in ("species_scientific", "height_m", "street", "last_update"):
        assert f"# {name}:" in text
    assert "# genus:" not in text


def test_the_draft_is_yaml_that_pastes_into_a_configuration(tmp_path: Path) -> None:
    path = write_trees(tmp_path / "t.geojson", [tree(i) for i in range(10)])
    text = render(drafted(path), "baeume")
    collection = yaml.safe_load(text)
    assert "# name ~ 'scientific name'" in text and "confidence" in text
    loaded = parse_config({"tenants": {"demo": {"collections": collection}}}, "draft", tmp_path)
    mapping = loaded.config.tenants["demo"].collections["baeume"].mapping
    assert mapping is not None and len(mapping.properties) == 10


def test_a_csv_file_is_sniffed_into_a_source_block(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(
        "Baumnummer;Gattung;Höhe_m;Rechtswert;Hochwert\n1;Acer;12,5;316968,19;5690216,95\n".encode(
            "latin-1"
        )
    )
    block = resolve(str(path)).block
    assert block | {"path": None} == {
        "connector": "csv",
        "path": None,
        "delimiter": ";",
        "encoding": "latin-1",
        "decimal": ",",
        "x": "Rechtswert",
        "y": "Hochwert",
        "crs": "EPSG:25833",
    }


def test_packed_text_is_not_mapped_but_its_constant_parts_are_proposed(tmp_path: Path) -> None:
    rows = [
        {
            "plan": f"P{i}",
            "gemeinde": f"[Gemeindeschlüssel: 02000000|Gemeinde: Hamburg|Ortsteil: {ortsteil}]",
            "link": "siehe Akte",
        }
        for i, ortsteil in enumerate(["Altona", "Eimsbüttel", "HafenCity"])
    ]
    d = drafted(write_trees(tmp_path / "p.geojson", rows), "land-use-plans")
    assert rule(d, "ags") == {"constant": "02000000"}
    assert rule(d, "gemeindeName") == {"constant": "Hamburg"}
    assert d.chosen["ags"].confidence < 0.7  # a sample cannot prove a constant: check it
    assert "externeReferenz" not in d.chosen  # 'siehe Akte' is no URL


def test_the_source_may_be_a_url_a_source_block_or_a_configured_collection(
    tmp_path: Path,
) -> None:
    url = resolve("http://127.0.0.1:9/city/collections/trees/items?limit=5")
    assert url.block == {"connector": "oapif", "url": "http://127.0.0.1:9/city/collections/trees"}
    data = write_trees(tmp_path / "t.geojson", [tree(1)])
    (tmp_path / "source.yaml").write_text(f"connector: geojson\npath: {data.name}\n", "utf-8")
    block = resolve(str(tmp_path / "source.yaml"))
    assert block.block == {"connector": "geojson", "path": "t.geojson"}
    assert block.base_dir == tmp_path
    config = {"tenants": {"stadt": {"collections": {"b": {"source": block.block}}}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config), "utf-8")
    configured = resolve(f"{tmp_path / 'c.yaml'}#stadt/b")
    assert configured.block == block.block and configured.base_dir == tmp_path


def test_json_output_holds_the_mapping_and_its_evidence(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    path = write_trees(tmp_path / "t.geojson", [tree(i) for i in range(5)])
    args = ["map", "draft", "--source", str(path), "--profile", "street-trees", "--format", "json"]
    doc = json.loads(CliRunner().invoke(app, args).stdout)
    assert doc["mapping"]["properties"]["genus"] == "genus"
    assert doc["evidence"]["genus"]["confidence"] == 1.0
    assert doc["unmatched_required"] == []


def test_the_draft_prints_the_source_block_as_written_with_its_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `${VAR}` (a path, a key) is printed as a variable, never as its value."""
    write_trees(tmp_path / "t.geojson", [tree(i) for i in range(3)])
    monkeypatch.setenv("TREES_DIR", str(tmp_path))
    (tmp_path / "source.yaml").write_text("connector: geojson\npath: ${TREES_DIR}/t.geojson\n")
    body = render(drafted(tmp_path / "source.yaml")).split("\n", 2)[2]  # after the header
    assert "path: ${TREES_DIR}/t.geojson" in body and str(tmp_path) not in body
