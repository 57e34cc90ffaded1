"""Part 2 (CRS) and Part 3 (filter, CQL2) checks shown able to fail: the fake Features
server (tests/conformance/fake_features.py) passes them all, and each wrapper below breaks
one thing, which the suite must flag and nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from conformance.model import Status
from tests.conformance import breakers as B
from tests.conformance import fake_breakage as X
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite
from tests.conformance.fake_features import CRS84, CRS_LIST

TARGET = "http://fake/"
ITEMS = r"/items(/[^/]+)?$"
ONE_FEATURE = (
    r"/items/[^/]+$"  # the ETS tests crs on a single feature apart (crs.query.crs.feature)
)
COLLECTION_DOCS = r"^/collections(/trees)?$"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


def test_the_fake_server_passes_every_check(loop_thread: LoopThread, fake_features_app: Any):
    report = run_suite(loop_thread, fake_features_app, TARGET)
    assert flagged(report) == set(), explain(report)
    skipped = {r.check for r in report.results if r.status is Status.SKIP}
    writes = {c for c in skipped if c.startswith("part4/")}  # only with --allow-writes
    assert skipped - writes == {"html/definition", "html/content", "crs/fc-md-crs-list-global"}


CASES: list[tuple[str, Callable[[Any], Any], set[str]]] = [
    (
        "Content-Crs left out for crs=X",
        lambda a: B.set_header(a, B.with_param(ITEMS, "crs"), "content-crs", None),
        {"crs/ogc-crs-header-value"},
    ),
    (
        "Content-Crs left out by default",
        lambda a: B.set_header(a, B.without_param(ITEMS, "crs"), "content-crs", None),
        {"crs/fc-crs-default-value"},
    ),
    (
        "a feature alone leaves out Content-Crs for crs=X",
        lambda a: B.set_header(a, B.with_param(ONE_FEATURE, "crs"), "content-crs", None),
        {"crs/ogc-crs-header-value"},
    ),
    (
        "a feature alone leaves out Content-Crs by default",
        lambda a: B.set_header(a, B.without_param(ONE_FEATURE, "crs"), "content-crs", None),
        {"crs/fc-crs-default-value"},
    ),
    (
        "a feature alone answers an unsupported crs with 200",
        lambda a: B.rewrite_query(
            a,
            B.on_path(ONE_FEATURE),
            lambda p: {k: v for k, v in p.items() if not (k == "crs" and v not in CRS_LIST)},
        ),
        {"crs/fc-crs-valid-value"},
    ),
    (
        "EPSG:4326 answered in longitude, latitude order",
        lambda a: B.rewrite_json(a, lambda s: B.params_of(s).get("crs") == EPSG4326, X.swap_axes),
        {"crs/fc-crs-action"},
    ),
    (
        "unsupported crs answered 200",
        X.drop_if("crs", lambda v: v not in CRS_LIST),
        {"crs/fc-crs-valid-value"},
    ),
    (
        "crs list without CRS84",
        lambda a: B.rewrite_json(
            a,
            B.on_path(COLLECTION_DOCS),
            X.collections(lambda c: c.update(crs=c["crs"][1:], storageCrs=CRS_LIST[2])),
        ),
        {"crs/fc-md-crs-list"},
    ),
    (
        "storageCrs not among the CRSs",
        lambda a: B.rewrite_json(
            a,
            B.on_path(COLLECTION_DOCS),
            X.collections(
                lambda c: c.update(storageCrs="http://www.opengis.net/def/crs/EPSG/0/3035")
            ),
        ),
        {"crs/fc-md-storageCrs-valid-value"},
    ),
    (
        "a CRS that is not a URI",
        lambda a: B.rewrite_json(
            a,
            B.on_path(COLLECTION_DOCS),
            X.collections(lambda c: c.update(crs=[*c["crs"], "EPSG:3035"])),
        ),
        {"crs/crs-uri"},
    ),
    (
        "a storageCrs that is not a URI",
        lambda a: B.rewrite_json(
            a,
            B.on_path(COLLECTION_DOCS),
            X.collections(lambda c: c.update(storageCrs="local-grid")),
        ),
        # not a URI, and so not among the collection's CRSs either
        {"crs/crs-uri", "crs/fc-md-storageCrs-valid-value"},
    ),
    (
        "a global CRS that is not a URI",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/collections$"),
            lambda d, s: {**d, "crs": [CRS84, "local-grid"]},
        ),
        {"crs/crs-uri"},
    ),
    (
        "bbox-crs ignored",
        X.drop_if("bbox-crs", lambda v: v in CRS_LIST),
        # The ETS method only asks for a subset of the CRS84 answer, and a box misread as
        # CRS84 selects nothing here: only the exact check, beyond the ETS, sees it.
        {"crs/fc-bbox-crs-action-exact"},
    ),
    (
        "bbox in another CRS answers a stranger",
        X.stranger_in_other_crs,
        {"crs/fc-bbox-crs-action", "crs/fc-bbox-crs-action-exact"},
    ),
    (
        "unsupported bbox-crs answered 200",
        X.drop_if("bbox-crs", lambda v: v not in CRS_LIST),
        {"crs/fc-bbox-crs-valid-value"},
    ),
    (
        "bbox-crs not declared",
        X.api(
            lambda d: X.items_params(d).__setitem__(
                slice(None), [p for p in X.items_params(d) if p["name"] != "bbox-crs"]
            )
        ),
        {"crs/fc-bbox-crs-definition"},
    ),
    (
        "OR read as AND",
        X.filter(lambda t: t.replace(" OR ", " AND "), X.rename_op("or", "and")),
        {"cql2/logical"},
    ),
    (
        "<> read as =",
        X.filter(lambda t: t.replace(" <> ", " = "), X.rename_op("<>", "=")),
        {"cql2/comparison"},
    ),
    (
        "T_BEFORE read as T_AFTER",
        X.filter(lambda t: t.replace("T_BEFORE", "T_AFTER"), X.rename_op("t_before", "t_after")),
        {"cql2/temporal"},
    ),
    (
        "S_DISJOINT read as S_INTERSECTS",
        X.filter(
            lambda t: t.replace("S_DISJOINT", "S_INTERSECTS"),
            X.rename_op("s_disjoint", "s_intersects"),
        ),
        {"cql2/spatial"},
    ),
    (
        "CASEI ignored",
        X.filter(lambda t: re.sub(r"CASEI\(([^()]*)\)", r"\1", t), X.unwrap("casei")),
        {"cql2/casei"},
    ),
    (
        "ACCENTI ignored",
        X.filter(lambda t: re.sub(r"ACCENTI\(([^()]*)\)", r"\1", t), X.unwrap("accenti")),
        {"cql2/accenti"},
    ),
    (
        "+ read as -",
        X.filter(lambda t: t.replace(" + ", " - "), X.rename_op("+", "-")),
        {"cql2/arithmetic"},
    ),
    (
        "IN looks at the first value only",
        X.filter(lambda t: re.sub(r" IN \(([^,]*),[^)]*\)", r" IN (\1)", t), X.first_of_in),
        {"cql2/in"},
    ),
    (
        "IS NULL read as IS NOT NULL",
        X.filter(lambda t: t.replace(" IS NULL", " IS NOT NULL"), X.not_null),
        {"cql2/null"},
    ),
    (
        "filter with bbox ignores the bbox",
        X.params(lambda p: {k: v for k, v in p.items() if not (k == "bbox" and "filter" in p)}),
        {"filter/mixing-expressions"},
    ),
    (
        "invalid filters answered 200",
        X.params(X.drop_invalid_filter),
        {"features-filter/response-invalid"},
    ),
    (
        "queryable parameters ignored",
        X.params(
            lambda p: {k: v for k, v in p.items() if k not in ("name", "genus", "street", "height")}
        ),
        {"queryables-query-parameters/parameters"},
    ),
    (
        "filter-lang enum without cql2-json",
        X.api(
            lambda d: next(p for p in X.items_params(d) if p["name"] == "filter-lang")[
                "schema"
            ].update(enum=["cql2-text"])
        ),
        {"features-filter/filter-param"},
    ),
    (
        "queryables without $schema",
        lambda a: B.rewrite_body(
            a, B.on_path(r"/queryables$"), lambda b: b.replace(b'"$schema"', b'"schema"')
        ),
        {"queryables/get-queryables-response"},
    ),
    (
        "queryables as application/json",
        lambda a: B.set_header(a, B.on_path(r"/queryables$"), "content-type", "application/json"),
        {"queryables/get-queryables-op"},
    ),
    (
        "no queryables link",
        lambda a: B.rewrite_json(
            a,
            B.on_path(COLLECTION_DOCS),
            X.collections(
                lambda c: c.update(links=[x for x in c["links"] if "queryables" not in x["rel"]])
            ),
        ),
        {"queryables/queryables-link"},
    ),
    # "#/crs" without a global list leaves the collection with no resolvable CRS at all, so
    # its list lacks CRS84 and its storageCrs is in no list either.
    (
        "#/crs without a global list",
        lambda a: B.rewrite_json(a, B.on_path(COLLECTION_DOCS), X.global_only),
        {"crs/fc-md-crs-list-global", "crs/fc-md-crs-list", "crs/fc-md-storageCrs-valid-value"},
    ),
    (
        "crs not declared",
        X.api(
            lambda d: X.items_params(d).__setitem__(
                slice(None), [p for p in X.items_params(d) if p["name"] != "crs"]
            )
        ),
        {"crs/fc-crs-definition"},
    ),
    (
        "explicit bbox-crs=CRS84 read differently",
        X.params(X.default_crs_box),
        {"crs/fc-bbox-crs-valid-default-value"},
    ),
    (
        "LIKE read as =",
        X.filter(lambda t: re.sub(r"(\w+) LIKE ", r"\1 = ", t), X.like_to_equals),
        {"cql2/like"},
    ),
    ("BETWEEN read as exclusive", X.filter(X.between_text, X.between_exclusive), {"cql2/between"}),
    (
        "BBOX literal shifted",
        X.filter(
            lambda t: re.sub(
                r"BBOX\(([^)]*)\)",
                lambda m: "BBOX(" + ", ".join(repr(float(v) + 0.05) for v in m[1].split(",")) + ")",
                t,
            ),
            X.shift_bbox,
        ),
        {"cql2/basic-spatial"},
    ),
    ("POINT literal shifted", X.filter(X.point_text, X.shift_point), {"cql2/spatial-plus"}),
    (
        "property < property read as >",
        X.filter(
            lambda t: re.sub(r"\b([a-z_]+) < ([a-z_]+)\b", r"\1 > \2", t),
            X.swap_property_comparison,
        ),
        {"cql2/property-property"},
    ),
]


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_suite_flags_exactly_the_broken_requirement(
    loop_thread: LoopThread, fake_features_app: Any, name: str, breaker, expected
):
    report = run_suite(loop_thread, breaker(fake_features_app), TARGET)
    assert flagged(report) == expected, f"{name}:\n{explain(report)}"


def test_crs84_constant_matches_the_suite():
    from conformance.features.names import CRS84 as SUITE_CRS84

    assert CRS84 == SUITE_CRS84


def test_an_item_on_a_later_crs84_page_is_no_stranger() -> None:
    """With few items, one on the extent's edge can drop out of the transformed box and
    shift the bbox-crs page by one: the item that moves up is inside the CRS84 box, so a
    CRS84 request finds it on its next page; only an item outside the box is a stranger."""
    from conformance.features.crs_bbox import _on_a_later_page

    def point(fid: str, x: float, y: float) -> dict:
        return {"id": fid, "geometry": {"type": "Point", "coordinates": [x, y]}}

    extent = [9.8336, 53.4310, 10.1854, 53.6810]
    features = [point("HH-0011", 10.0, 53.55), point("edge", 9.8336, 53.5), point("x", 0, 0)]
    features.append({"id": "no-geometry", "geometry": None})
    assert _on_a_later_page(features, extent) == {"HH-0011", "edge"}
