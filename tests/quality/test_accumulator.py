"""The data-quality figures, each shown to move with hand-made street-tree features."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

import profiles
from gateway.quality import BoundedIds, QualityAccumulator, property_rules, temporal_property

TREES = profiles.get("street-trees")
NOW = datetime(2026, 1, 11, tzinfo=UTC)


def tree(fid: Any = "t1", **changes: Any) -> dict[str, Any]:
    feature = {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Point", "coordinates": [10.0, 53.5]},
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
            "last_update": "2026-01-01",
        },
    }
    geometry = changes.pop("geometry", feature["geometry"])
    feature["geometry"] = geometry
    feature["properties"].update(changes)
    return feature


def figures(*features: dict[str, Any], **kw: Any) -> dict[str, Any]:
    acc = QualityAccumulator(TREES, now=lambda: NOW, **kw)
    acc.add_many(features)
    return acc.report()


def test_a_clean_collection_has_full_figures():
    report = figures(tree("a"), tree("b"))
    assert report["items"] == 2
    assert report["valid"] == {"count": 2, "share": 1.0}
    assert set(report["completeness"].values()) == {1.0}
    assert "tenant" not in report["completeness"]  # set by the gateway, not delivered
    assert set(report["geometry"].values()) == {0}
    assert set(report["out_of_range"].values()) == {0}
    assert set(report["outside_code_list"].values()) == {0}
    assert report["ids"] == {
        "missing": 0,
        "duplicates": 0,
        "exact": True,
        "tracked_cap": 200_000,
        "untracked": 0,
    }
    assert report["profile"] == {"id": "street-trees", "version": TREES.version}


def test_the_report_is_plain_json():
    report = figures(tree("a"), tree("b", height_m=99, geometry=None))
    assert json.loads(json.dumps(report)) == report


def test_completeness_counts_nulls_and_missing_properties_per_property():
    partial = tree("b", height_m=None)
    del partial["properties"]["street"]
    report = figures(tree("a"), partial, tree("c", height_m=None), tree("d"))
    assert report["completeness"]["height_m"] == 0.5
    assert report["completeness"]["street"] == 0.75
    assert report["completeness"]["genus"] == 1.0


def test_valid_share_falls_with_items_the_schema_rejects_and_keeps_examples():
    wrong_type = tree("b", planting_year="nineteen-ninety")
    report = figures(tree("a"), wrong_type, tree("c"), tree("d"))
    assert report["valid"] == {"count": 3, "share": 0.75}
    [example] = report["examples"]["schema"]
    assert example["id"] == "b" and "planting_year" in example["problem"]


def test_examples_are_bounded():
    bad = [tree(str(i), genus="Pinus") for i in range(50)]
    report = figures(*bad)
    assert report["valid"]["count"] == 0
    assert len(report["examples"]["schema"]) == 5


@pytest.mark.parametrize(
    ("geometry", "kind"),
    [
        (None, "missing"),
        ({"type": "Point", "coordinates": []}, "empty"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "invalid"),
        ({"type": "LineString", "coordinates": [[0, 0]]}, "invalid"),
        ({"type": "Point", "coordinates": ["a", "b"]}, "invalid"),
        ({"type": "Bogus", "coordinates": [1, 2]}, "invalid"),
        ("POINT (1 2)", "invalid"),
    ],
)
def test_geometry_problems_are_counted_by_kind(geometry: Any, kind: str):
    report = figures(tree("a"), tree("b", geometry=geometry))
    assert report["geometry"][kind] == 1
    assert sum(report["geometry"].values()) == 1
    if kind != "missing":
        assert report["examples"]["geometry"][0]["id"] == "b"


def test_values_outside_the_schema_range_are_counted_per_property():
    report = figures(
        tree("a", height_m=61),  # maximum 60
        tree("b", height_m=-1),  # minimum 0
        tree("c", planting_year=1700),
        tree("d", height_m=60),  # the bound itself is allowed
        tree("e", height_m="tall"),  # a type error, not a range error
    )
    assert report["out_of_range"]["height_m"] == 2
    assert report["out_of_range"]["planting_year"] == 1
    assert report["out_of_range"]["crown_diameter_m"] == 0


def test_values_outside_the_code_list_are_counted():
    report = figures(tree("a", genus="Pinus"), tree("b", genus="Tilia"), tree("c", genus=None))
    assert report["outside_code_list"] == {"genus": 1}


def test_duplicate_and_missing_ids_are_counted():
    report = figures(tree("a"), tree("a"), tree(7), tree("7"), tree(None), tree(""))
    assert report["ids"]["duplicates"] == 2  # a twice, and 7 / "7"
    assert report["ids"]["missing"] == 2
    assert report["ids"]["exact"] is True


def test_duplicate_ids_past_the_cap_are_reported_as_not_exact():
    ids = BoundedIds(cap=2)
    for fid in ("a", "b", "c", "a", "c"):
        ids.add(fid)
    report = ids.report()
    assert report["duplicates"] == 1  # "a" is known; "c" came after the cap
    assert report["exact"] is False and report["untracked"] == 2


def test_staleness_is_measured_from_the_newest_timestamp():
    report = figures(tree("a", last_update="2025-12-01"), tree("b", last_update="2026-01-10"))
    fresh = report["freshness"]
    assert fresh["property"] == "last_update"
    assert fresh["newest"] == "2026-01-10T00:00:00+00:00"
    assert fresh["staleness_seconds"] == 86400.0
    older = figures(tree("a", last_update="2025-12-01"))["freshness"]
    assert older["staleness_seconds"] > fresh["staleness_seconds"]


def test_unreadable_timestamps_are_counted_not_trusted():
    report = figures(tree("a", last_update="yesterday"))
    assert report["freshness"]["newest"] is None
    assert report["freshness"]["staleness_seconds"] is None
    assert report["freshness"]["unreadable"] == 1


def test_datetimes_with_offsets_compare_in_utc():
    barriers = profiles.get("accessibility-barriers")
    acc = QualityAccumulator(barriers, now=lambda: NOW)
    for fid, when in (("a", "2026-01-10T12:00:00+02:00"), ("b", "2026-01-10T11:00:00Z")):
        acc.add(
            {"type": "Feature", "id": fid, "geometry": None, "properties": {"reported_at": when}}
        )
    assert acc.report()["freshness"]["newest"] == "2026-01-10T11:00:00+00:00"


def test_no_items_gives_no_shares():
    report = figures()
    assert report["items"] == 0
    assert report["valid"]["share"] is None
    assert set(report["completeness"].values()) == {None}


def test_what_is_not_a_feature_counts_as_invalid_not_a_crash():
    report = figures("not a feature", {"type": "Feature"})  # type: ignore[arg-type]
    assert report["items"] == 2
    assert report["valid"]["count"] == 0
    assert report["ids"]["missing"] == 2


def test_rules_come_from_the_schema_and_the_code_lists():
    rules = property_rules(TREES)
    assert rules["height_m"].minimum == 0 and rules["height_m"].maximum == 60
    assert rules["genus"].codes == frozenset(TREES.code_lists["genus"])
    assert "species_german" not in rules  # nothing to check beyond the schema
    assert temporal_property(TREES) == "last_update"


def test_exclusive_bounds_are_honoured():
    profile = copy.copy(TREES)
    schema = copy.deepcopy(TREES.schema)
    height = schema["properties"]["properties"]["properties"]["height_m"]
    height["exclusiveMinimum"] = 0
    object.__setattr__(profile, "schema", schema)
    rule = property_rules(profile)["height_m"]
    assert rule.out_of_range(0) and not rule.out_of_range(0.1)


def test_a_list_value_is_outside_the_code_list_when_one_item_is():
    report = figures(tree("a", genus=["Tilia", "Acer"]), tree("b", genus=["Tilia", "Pinus"]))
    assert report["outside_code_list"] == {"genus": 1}
