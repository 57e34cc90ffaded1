"""The profile suite (--profile street-trees --collection ID) on the demo, and shown able
to fail: an item the schema rejects, a value outside a code list, a queryable not
published, a sortby the server ignores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import profiles
from conformance.model import Status
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite

ITEMS = r"/collections/street-trees/items$"


def run_profile(lt: LoopThread, app: Any, profile: str = "street-trees", **options: Any):
    return run_suite(
        lt, app, suites=("profile",), profile=profile, collection="street-trees", **options
    )


@pytest.mark.parametrize(
    ("root", "collection"),
    [("", "street-trees"), ("/hamburg", "strassenbaeume"), ("/muenchen", "baeume")],
)
def test_demo_collections_conform_to_street_trees(
    loop_thread: LoopThread, demo_app: Any, root: str, collection: str
):
    report = run_suite(
        loop_thread,
        demo_app,
        f"http://testserver{root}/",
        suites=("profile",),
        profile="street-trees",
        collection=collection,
    )
    assert flagged(report) == set(), explain(report)
    schema = next(r for r in report.results if r.check == "profile/schema")
    assert schema.status is Status.PASS
    assert schema.requirement.id == "profile:street-trees@1.0.0/schema"


@pytest.mark.parametrize(
    ("root", "collection"),
    [("", "land-use-plans"), ("/hamburg", "bebauungsplaene"), ("/leipzig", "bebauungsplaene")],
)
def test_demo_collections_conform_to_land_use_plans(
    loop_thread: LoopThread, demo_app: Any, root: str, collection: str
):
    """Codes stored as codes (Hamburg) or as names (Leipzig), ISO or German dates: the
    profile's schema, queryables, sortables and code lists hold for each and for the union."""
    report = run_suite(
        loop_thread,
        demo_app,
        f"http://testserver{root}/",
        suites=("profile",),
        profile="land-use-plans",
        collection=collection,
    )
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert {"profile/schema", "profile/queryables", "profile/code-lists"} <= passed, explain(report)


@pytest.mark.parametrize(
    ("root", "collection"),
    [("", "buildings"), ("/leipzig", "gebaeude"), ("/muenchen", "gebaeude")],
)
def test_demo_collections_conform_to_buildings(
    loop_thread: LoopThread, demo_app: Any, root: str, collection: str
):
    """ALKIS numbers in metres (Leipzig) or CityGML texts in centimetres (München): the
    profile's schema, queryables, sortables and code lists hold for each and for the union."""
    report = run_suite(
        loop_thread,
        demo_app,
        f"http://testserver{root}/",
        suites=("profile",),
        profile="buildings",
        collection=collection,
    )
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    want = {"profile/schema", "profile/queryables", "profile/sortables", "profile/code-lists"}
    assert want <= passed, explain(report)


@pytest.mark.parametrize(
    ("root", "collection"),
    [("", "accessibility-barriers"), ("/hamburg", "barrieren"), ("/muenchen", "barrieren")],
)
def test_demo_collections_conform_to_accessibility_barriers(
    loop_thread: LoopThread, demo_app: Any, root: str, collection: str
):
    """A FairCare-style API (nested address, offset paging) and an Open311 one (service
    codes, page/page_size, extended attributes), both read live: the profile's schema,
    queryables, sortables and code lists hold for each and for the union."""
    report = run_suite(
        loop_thread,
        demo_app,
        f"http://testserver{root}/",
        suites=("profile",),
        profile="accessibility-barriers",
        collection=collection,
    )
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    want = {"profile/schema", "profile/queryables", "profile/sortables", "profile/code-lists"}
    assert want <= passed, explain(report)


def test_sample_limits_the_items_validated(loop_thread: LoopThread, demo_app: Any):
    report = run_profile(loop_thread, demo_app, sample=25)
    schema = next(r for r in report.results if r.check == "profile/schema")
    assert schema.message.startswith("25 items valid")


def _negative_height(doc: Any, scope: B.Scope) -> Any:
    """One tree with a negative height, wherever it is listed (sorting and filtering leave
    the response alone, as a server holding this value would place it consistently)."""
    if {"sortby", "filter"} & set(B.params_of(scope)):
        return doc
    for f in doc.get("features", []):
        if f["id"] == "hamburg.strassenbaeume.100004":
            f["properties"]["height_m"] = -3.5
    return doc


def test_an_invalid_item_fails_the_schema_rule(loop_thread: LoopThread, demo_app: Any):
    report = run_profile(loop_thread, B.rewrite_json(demo_app, B.on_path(ITEMS), _negative_height))
    assert flagged(report) == {"profile/schema"}, explain(report)
    failed = next(r for r in report.results if r.check == "profile/schema")
    assert "height_m" in failed.message and "-3.5" in failed.message


def test_a_value_outside_the_code_list_fails_that_rule(
    loop_thread: LoopThread, demo_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A profile whose genus code list lacks Tilia (its schema still allows it)."""
    folder = tmp_path / "street-trees-strict"
    shutil.copytree(profiles.get("street-trees").path, folder)
    meta = yaml.safe_load((folder / "profile.yaml").read_text(encoding="utf-8"))
    meta["id"] = "street-trees-strict"
    del meta["code_lists"]["genus"]["Tilia"]
    (folder / "profile.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    monkeypatch.setenv(profiles.PATH_ENV, str(tmp_path))
    report = run_profile(loop_thread, demo_app, profile="street-trees-strict")
    # the collection declares street-trees, not this copy: the version rule says so too
    assert flagged(report) == {"profile/code-lists", "profile/version"}, explain(report)


COLLECTION = r"/collections/street-trees$"


def _declaring(uris: list[str]):
    def mutate(doc: Any, scope: B.Scope) -> Any:
        doc["conformsTo"] = uris
        return doc

    return mutate


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (
            ["http://testserver/catalog/profiles/street-trees/0.9.0"],
            "declares street-trees 0.9.0; this suite checks 1.0.0",
        ),
        ([], "conformsTo names no version of street-trees"),
    ],
    ids=["older version", "none"],
)
def test_another_declared_version_fails_the_version_rule(
    loop_thread: LoopThread, demo_app: Any, declared: list[str], message: str
):
    app = B.rewrite_json(demo_app, B.on_path(COLLECTION), _declaring(declared))
    report = run_profile(loop_thread, app)
    assert flagged(report) == {"profile/version"}, explain(report)
    failed = next(r for r in report.results if r.check == "profile/version")
    assert message in failed.message, failed.message


def _hide_queryable(body: bytes) -> bytes:
    return body.replace(b'"genus"', b'"genus_hidden"', 1)


def test_a_missing_queryable_fails_the_queryables_rule(loop_thread: LoopThread, demo_app: Any):
    declared = {r.check: r for r in run_profile(loop_thread, demo_app).results}
    if declared["profile/queryables"].status is Status.SKIP:
        pytest.skip("the gateway does not declare queryables yet")
    app = B.rewrite_body(demo_app, B.on_path(r"/queryables$"), _hide_queryable)
    report = run_profile(loop_thread, app)
    assert flagged(report) == {"profile/queryables"}, explain(report)


def test_an_ignored_sortby_fails_the_sortables_rule(loop_thread: LoopThread, demo_app: Any):
    declared = {r.check: r for r in run_profile(loop_thread, demo_app).results}
    if declared["profile/sortables"].status is Status.SKIP:
        pytest.skip("the gateway does not declare sorting yet")
    app = B.rewrite_query(
        demo_app, B.on_path(ITEMS), lambda p: {k: v for k, v in p.items() if k != "sortby"}
    )
    report = run_profile(loop_thread, app)
    assert flagged(report) == {"profile/sortables"}, explain(report)


def _heights_in_centimetres(doc: Any, scope: B.Scope) -> Any:
    """München's buildings as a mapping without its factor 0.01 would serve them (sorted and
    filtered responses left alone, as for the negative height above; the queryables check,
    which filters, would see the disagreement too, so the test runs the item checks)."""
    if {"sortby", "filter"} & set(B.params_of(scope)):
        return doc
    for f in doc.get("features", []):
        props = f["properties"]
        if props.get("tenant") == "muenchen" and props["height_m"] is not None:
            props["height_m"] = round(props["height_m"] * 100)
    return doc


def test_buildings_with_heights_in_centimetres_fail_the_schema_rule(
    loop_thread: LoopThread, demo_app: Any
):
    app = B.rewrite_json(
        demo_app, B.on_path(r"/collections/buildings/items$"), _heights_in_centimetres
    )
    report = run_suite(
        loop_thread,
        app,
        suites=("profile",),
        checks=("profile/schema", "profile/code-lists"),
        profile="buildings",
        collection="buildings",
    )
    assert flagged(report) == {"profile/schema"}, explain(report)
    failed = next(r for r in report.results if r.check == "profile/schema")
    assert "height_m" in failed.message and "greater than the maximum of 1000" in failed.message


EV_ITEMS = r"/collections/ev-charging-stations/items$"
EV_EXAMPLES = profiles.get("ev-charging-stations").path / "examples"
# invalid examples whose wrong value is also no code of a code-list property
EV_NOT_A_CODE = {
    "access-as-boolean",
    "connector-as-free-text",
    "status-in-german",
    "unknown-payment-method",
}


@pytest.mark.parametrize(
    ("root", "collection"),
    [("", "ev-charging-stations"), ("/hamburg", "ladesaeulen"), ("/leipzig", "ladeeinrichtungen")],
)
def test_demo_collections_conform_to_ev_charging_stations(
    loop_thread: LoopThread, demo_app: Any, root: str, collection: str
):
    """A city layer (EPSG:25832, kW, Hamburg's words) and a register-style CSV (WGS 84, W,
    the register's words): schema, queryables, sortables and code lists (lists item by
    item) hold for each and for the union."""
    report = run_suite(
        loop_thread,
        demo_app,
        f"http://testserver{root}/",
        suites=("profile",),
        profile="ev-charging-stations",
        collection=collection,
    )
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    want = {"profile/schema", "profile/queryables", "profile/sortables", "profile/code-lists"}
    assert want <= passed, explain(report)
    schema = next(r for r in report.results if r.check == "profile/schema")
    assert schema.requirement.id == "profile:ev-charging-stations@1.0.0/schema"


def _served_as_hh_0001(example: dict[str, Any]) -> Any:
    """Serve the example in place of one Hamburg station, wherever it is listed."""

    def mutate(doc: Any, scope: B.Scope) -> Any:
        for f in doc.get("features", []):
            if f["id"] == "hamburg.ladesaeulen.HH-0001":
                f.pop("geometry", None)
                f.update({k: v for k, v in example.items() if k != "id"})
        return doc

    return mutate


@pytest.mark.parametrize(
    "path", sorted((EV_EXAMPLES / "invalid").glob("*.json")), ids=lambda p: p.stem
)
def test_each_invalid_ev_example_fails_the_profile_rules(
    loop_thread: LoopThread, demo_app: Any, path: Path
):
    example = json.loads(path.read_text(encoding="utf-8"))
    app = B.rewrite_json(demo_app, B.on_path(EV_ITEMS), _served_as_hh_0001(example))
    report = run_suite(
        loop_thread,
        app,
        suites=("profile",),
        checks=("profile/schema", "profile/code-lists"),
        profile="ev-charging-stations",
        collection="ev-charging-stations",
    )
    expected = {"profile/schema"} | (
        {"profile/code-lists"} if path.stem in EV_NOT_A_CODE else set()
    )
    assert flagged(report) == expected, explain(report)
    failed = next(r for r in report.results if r.check == "profile/schema")
    assert "1 of 70 items" in failed.message and "HH-0001" in failed.message


def test_a_list_item_outside_the_code_list_fails_that_rule(
    loop_thread: LoopThread, demo_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A profile whose connector code list lacks tesla (its schema still allows it): the
    code-list check reads connector_types item by item."""
    folder = tmp_path / "ev-strict"
    shutil.copytree(profiles.get("ev-charging-stations").path, folder)
    meta = yaml.safe_load((folder / "profile.yaml").read_text(encoding="utf-8"))
    meta["id"] = "ev-strict"
    del meta["code_lists"]["connector_types"]["tesla"]
    (folder / "profile.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    monkeypatch.setenv(profiles.PATH_ENV, str(tmp_path))
    report = run_suite(
        loop_thread,
        demo_app,
        suites=("profile",),
        checks=("profile/schema", "profile/code-lists"),
        profile="ev-strict",
        collection="ev-charging-stations",
    )
    assert flagged(report) == {"profile/code-lists"}, explain(report)
    failed = next(r for r in report.results if r.check == "profile/code-lists")
    assert "connector_types = 'tesla'" in failed.message
