"""`map draft` beyond one column: numbered column families collected or aggregated as the
profile says, absolute heights less the terrain, the profile's default for empty codes; and
the cases where the wizard must not: the evidence is in the data and the profile only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.config import parse_config
from gateway.mapwizard.draft import Draft
from gateway.mapwizard.emit import render
from gateway.mapwizard.families import families
from tests.mapwizard.test_draft import drafted, rule, write_trees

PLUGS = ["AC Steckdose Typ 2", "DC Kupplung Combo", "DC CHAdeMO"]


def station(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"L{i}",
        "betreiber": "Stadtwerke",
        "stecker1_typ": PLUGS[0],
        "stecker2_typ": PLUGS[1] if i % 2 else None,
        "stecker3_typ": PLUGS[2] if i % 5 == 0 else None,
        "leistung_ladepunkt_1": 22.0,
        "leistung_ladepunkt_2": 150.0 if i % 2 else None,
        "leistung_ladepunkt_3": 50.0 if i % 5 == 0 else None,
        **extra,
    }


def building(i: int, ground: float, **extra: Any) -> dict[str, Any]:
    return {"gml_id": f"B{i}", "HoeheGrund": ground + i % 7, **extra}


def test_numbered_columns_form_a_family_only_when_they_count_up() -> None:
    names = ["Steckertypen1", "Steckertypen2", "Stecker1_Typ", "Stecker2_Typ", "typ_1",
             "typ_2", "typ_3", "Telefon", "wert_2", "wert_4", "PLZ 04109"]  # fmt: skip
    found = {f.stem: f.members for f in families(names)}
    assert found == {
        "Steckertypen": ["Steckertypen1", "Steckertypen2"],
        "Stecker _Typ": ["Stecker1_Typ", "Stecker2_Typ"],
        "typ_": ["typ_1", "typ_2", "typ_3"],
    }


def test_a_list_property_collects_the_family_with_codes_from_every_column(
    tmp_path: Path,
) -> None:
    d = drafted(write_trees(tmp_path / "l.geojson", [station(i) for i in range(20)]),
                "ev-charging-stations")  # fmt: skip
    found = rule(d, "connector_types")
    assert found["collect"] == ["stecker1_typ", "stecker2_typ", "stecker3_typ"]
    assert found["codes"] == {PLUGS[0]: "type2", PLUGS[1]: "ccs2", PLUGS[2]: "chademo"}


def test_a_total_and_a_maximum_aggregate_the_family_as_the_profile_says(tmp_path: Path) -> None:
    d = drafted(write_trees(tmp_path / "l.geojson", [station(i) for i in range(20)]),
                "ev-charging-stations")  # fmt: skip
    columns = ["leistung_ladepunkt_1", "leistung_ladepunkt_2", "leistung_ladepunkt_3"]
    assert rule(d, "max_power_kw") == {"max": columns}
    assert rule(d, "total_power_kw") == {"sum": columns}
    assert "the profile's max_power_kw is their max" in " ".join(d.chosen["max_power_kw"].evidence)
    _parses(d, tmp_path)


def test_a_column_with_the_total_beats_adding_up_and_other_families_stay_single(
    tmp_path: Path,
) -> None:
    rows = [station(i, nennleistung_ladeeinrichtung=222.0, status_1="In Betrieb",
                    status_2="In Planung") for i in range(20)]  # fmt: skip
    d = drafted(write_trees(tmp_path / "l.geojson", rows), "ev-charging-stations")
    assert rule(d, "total_power_kw") == {"from": "nennleistung_ladeeinrichtung", "type": "number"}
    assert "collect" not in rule(d, "status") and rule(d, "status")["from"] == "status_1"


def test_a_family_whose_names_match_no_list_property_is_not_collected(tmp_path: Path) -> None:
    rows = [{"id": f"L{i}", "telefon1": "0341 1", "telefon2": "0341 2"} for i in range(20)]
    d = drafted(write_trees(tmp_path / "l.geojson", rows), "ev-charging-stations")
    assert all("collect" not in str(p.rule) for p in d.chosen.values())


def test_absolute_roof_heights_become_their_difference_to_the_terrain(tmp_path: Path) -> None:
    rows = [building(i, 519.0, HoeheDach=535.0 + i % 5, NiedrigsteTraufeDesGebaeudes=529.0 + i % 3)
            for i in range(30)]  # fmt: skip
    d = drafted(write_trees(tmp_path / "b.geojson", rows), "buildings")
    assert rule(d, "ridge_height_m") == {"difference": ["HoeheDach", "HoeheGrund"]}
    assert rule(d, "eaves_height_m") == {
        "difference": ["NiedrigsteTraufeDesGebaeudes", "HoeheGrund"]
    }
    assert rule(d, "ground_elevation_m") == {"from": "HoeheGrund", "type": "number"}
    assert d.chosen["height_m"].confidence < 0.7  # drafted from HoeheDach by name: shared
    evidence = " ".join(d.chosen["ridge_height_m"].evidence)
    assert "'HoeheDach' 535..539 is at or above 'HoeheGrund' 519..525" in evidence
    _parses(d, tmp_path)


def test_heights_already_above_ground_stay_as_they_are(tmp_path: Path) -> None:
    leipzig = [building(i, 110.0, traufhoehe=8.0 + i % 5, firsthoehe=12.0 + i % 5)
               for i in range(30)]  # fmt: skip
    d = drafted(write_trees(tmp_path / "b.geojson", leipzig), "buildings")
    assert rule(d, "eaves_height_m") == {"from": "traufhoehe", "type": "number"}
    assert rule(d, "ridge_height_m") == {"from": "firsthoehe", "type": "number"}
    # by the sea: relative heights lie above a low terrain, yet are more building than terrain
    coast = [building(i, 2.0, HoeheDach=14.0 + i % 5) for i in range(30)]
    d = drafted(write_trees(tmp_path / "c.geojson", coast), "buildings")
    assert rule(d, "height_m") == {"from": "HoeheDach", "type": "number"}
    assert "ridge_height_m" not in d.chosen


def test_empty_codes_take_the_profiles_default_and_only_it(tmp_path: Path) -> None:
    rows = [building(i, 110.0, zustand="4000" if i % 4 == 0 else None,
                     dachform="1000" if i % 3 else None) for i in range(30)]  # fmt: skip
    d = drafted(write_trees(tmp_path / "b.geojson", rows), "buildings")
    assert rule(d, "condition") == {"from": "zustand", "codes": {"4000": "under_construction"},
                                    "default": "functional"}  # fmt: skip
    assert "default" not in rule(d, "roof_type")
    text = render(d)
    assert "# DECIDE" in text and "# roof_type: 10 of 30 sampled 'dachform' are empty" in text


def test_no_default_is_proposed_when_no_value_is_empty(tmp_path: Path) -> None:
    rows = [building(i, 110.0, zustand="4000" if i % 2 else "3000") for i in range(30)]
    d = drafted(write_trees(tmp_path / "b.geojson", rows), "buildings")
    assert "default" not in rule(d, "condition") and not d.decisions


def _parses(d: Draft, tmp_path: Path) -> None:
    """The printed draft, comments and all, is a valid collection of a configuration."""
    collection = yaml.safe_load(render(d, "c"))
    parse_config({"tenants": {"t": {"collections": collection}}}, "draft", tmp_path)
