"""Part 2 (CRS) and Part 3 (filter, CQL2) checks shown able to fail: the fake Features
server (tests/conformance/fake_features.py) passes them all, and each wrapper below breaks
one thing, which the suite must flag and nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import cql2
import pytest

from conformance.model import Status
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite
from tests.conformance.fake_features import CRS84, CRS_LIST

TARGET = "http://fake/"
ITEMS = r"/items(/[^/]+)?$"
COLLECTION_DOCS = r"^/collections(/trees)?$"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


def test_the_fake_server_passes_every_check(loop_thread: LoopThread, fake_features_app: Any):
    report = run_suite(loop_thread, fake_features_app, TARGET)
    assert flagged(report) == set(), explain(report)
    skipped = {r.check for r in report.results if r.status is Status.SKIP}
    assert skipped == {"html/definition", "html/content", "crs/fc-md-crs-list-global"}


def _collections(change: Callable[[dict], None]) -> Callable[[Any, B.Scope], Any]:
    def mutate(doc: Any, scope: B.Scope) -> Any:
        for c in doc.get("collections", [doc]):
            change(c)
        return doc

    return mutate


def _swap_axes(doc: Any, scope: B.Scope) -> Any:
    for f in doc.get("features", [doc]):
        if f.get("geometry"):
            x, y = f["geometry"]["coordinates"][:2]
            f["geometry"]["coordinates"] = [y, x]
    return doc


def _params(fn: Callable[[dict[str, str]], dict[str, str]]) -> Callable[[Any], Any]:
    return lambda app: B.rewrite_query(app, B.on_path(ITEMS), fn)


def _drop_if(name: str, test: Callable[[str], bool]) -> Callable[[Any], Any]:
    return _params(lambda p: {k: v for k, v in p.items() if not (k == name and test(v))})


def _walk(node: Any, change: Callable[[dict], Any]) -> Any:
    if isinstance(node, list):
        return [_walk(x, change) for x in node]
    if isinstance(node, dict):
        node = {k: _walk(v, change) for k, v in node.items()}
        return change(node) if "op" in node else node
    return node


def _filter(text: Callable[[str], str], js: Callable[[dict], Any]) -> Callable[[Any], Any]:
    """Rewrite `filter` in both encodings before the server reads it."""

    def change(params: dict[str, str]) -> dict[str, str]:
        if "filter" not in params:
            return params
        if params.get("filter-lang") == "cql2-json":
            params["filter"] = json.dumps(_walk(json.loads(params["filter"]), js))
        else:
            params["filter"] = text(params["filter"])
        return params

    return _params(change)


def _rename_op(old: str, new: str) -> Callable[[dict], Any]:
    return lambda n: {**n, "op": new} if n["op"] == old else n


def _unwrap(op: str) -> Callable[[dict], Any]:
    return lambda n: n["args"][0] if n["op"] == op else n


def _first_of_in(n: dict) -> Any:
    return {**n, "args": [n["args"][0], n["args"][1][:1]]} if n["op"] == "in" else n


def _not_null(n: dict) -> Any:
    return {"op": "not", "args": [n]} if n["op"] == "isNull" else n


def _is_cql2(text: str) -> bool:
    try:
        cql2.parse_text(text)
    except Exception:
        return False
    return True


def _drop_invalid_filter(params: dict[str, str]) -> dict[str, str]:
    """Treat a filter the server cannot read as no filter at all (instead of a 400)."""
    lang = params.get("filter-lang", "cql2-text")
    readable = lang == "cql2-json" or (lang == "cql2-text" and _is_cql2(params.get("filter", "")))
    if "filter" in params and not readable:
        return {k: v for k, v in params.items() if k not in ("filter", "filter-lang")}
    return params


def _api(change: Callable[[dict], None]) -> Callable[[Any], Any]:
    def mutate(doc: Any, scope: B.Scope) -> Any:
        change(doc)
        return doc

    return lambda app: B.rewrite_json(app, B.on_path(r"^/api$"), mutate)


def _items_params(doc: dict) -> list[dict]:
    return doc["paths"]["/collections/trees/items"]["get"]["parameters"]


def _global_only(doc: Any, scope: B.Scope) -> Any:
    """Collections refer to the global CRS list ("#/crs") that /collections leaves out."""
    doc.pop("crs", None)
    for c in doc.get("collections", [doc]):
        c["crs"] = ["#/crs"]
    return doc


def _like_to_equals(node: dict) -> Any:
    if node["op"] == "like" and "property" in node["args"][0]:
        return {**node, "op": "="}
    return node


def _between_exclusive(node: dict) -> Any:
    if node["op"] != "between":
        return node
    value, low, high = node["args"]
    return {
        "op": "and",
        "args": [{"op": ">", "args": [value, low]}, {"op": "<", "args": [value, high]}],
    }


def _between_text(text: str) -> str:
    return re.sub(r"(\w+) BETWEEN (\S+) AND (\S+)", r"(\1 > \2 AND \1 < \3)", text)


def _shift_bbox(node: dict) -> Any:
    for arg in node["args"]:
        if isinstance(arg, dict) and "bbox" in arg:
            arg["bbox"] = [v + 0.05 for v in arg["bbox"]]
    return node


def _shift_point(node: dict) -> Any:
    for arg in node["args"]:
        if isinstance(arg, dict) and arg.get("type") == "Point":
            arg["coordinates"] = [v + 1 for v in arg["coordinates"]]
    return node


def _point_text(text: str) -> str:
    return re.sub(
        r"POINT \(([-\d.]+) ([-\d.]+)\)",
        lambda m: f"POINT ({float(m[1]) + 1} {float(m[2]) + 1})",
        text,
    )


def _swap_property_comparison(node: dict) -> Any:
    if node["op"] == "<" and isinstance(node["args"][1], dict) and "property" in node["args"][1]:
        return {**node, "op": ">"}
    return node


def _default_crs_box(params: dict[str, str]) -> dict[str, str]:
    if params.get("bbox-crs") == CRS84 and "bbox" in params:
        numbers = [float(v) for v in params["bbox"].split(",")]
        numbers[2] -= (numbers[2] - numbers[0]) / 5
        params["bbox"] = ",".join(map(repr, numbers))
    return params


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
        "EPSG:4326 answered in longitude, latitude order",
        lambda a: B.rewrite_json(a, lambda s: B.params_of(s).get("crs") == EPSG4326, _swap_axes),
        {"crs/fc-crs-action"},
    ),
    (
        "unsupported crs answered 200",
        _drop_if("crs", lambda v: v not in CRS_LIST),
        {"crs/fc-crs-valid-value"},
    ),
    (
        "crs list without CRS84",
        lambda a: B.rewrite_json(
            a,
            B.on_path(COLLECTION_DOCS),
            _collections(lambda c: c.update(crs=c["crs"][1:], storageCrs=CRS_LIST[2])),
        ),
        {"crs/fc-md-crs-list"},
    ),
    (
        "storageCrs not among the CRSs",
        lambda a: B.rewrite_json(
            a,
            B.on_path(COLLECTION_DOCS),
            _collections(
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
            _collections(lambda c: c.update(crs=[*c["crs"], "EPSG:3035"])),
        ),
        {"crs/crs-uri"},
    ),
    (
        "bbox-crs ignored",
        _drop_if("bbox-crs", lambda v: v in CRS_LIST),
        {"crs/fc-bbox-crs-action", "crs/fc-bbox-crs-action-exact"},
    ),
    (
        "unsupported bbox-crs answered 200",
        _drop_if("bbox-crs", lambda v: v not in CRS_LIST),
        {"crs/fc-bbox-crs-valid-value"},
    ),
    (
        "bbox-crs not declared",
        _api(
            lambda d: _items_params(d).__setitem__(
                slice(None), [p for p in _items_params(d) if p["name"] != "bbox-crs"]
            )
        ),
        {"crs/fc-bbox-crs-definition"},
    ),
    (
        "OR read as AND",
        _filter(lambda t: t.replace(" OR ", " AND "), _rename_op("or", "and")),
        {"cql2/logical"},
    ),
    (
        "<> read as =",
        _filter(lambda t: t.replace(" <> ", " = "), _rename_op("<>", "=")),
        {"cql2/comparison"},
    ),
    (
        "T_BEFORE read as T_AFTER",
        _filter(lambda t: t.replace("T_BEFORE", "T_AFTER"), _rename_op("t_before", "t_after")),
        {"cql2/temporal"},
    ),
    (
        "S_DISJOINT read as S_INTERSECTS",
        _filter(
            lambda t: t.replace("S_DISJOINT", "S_INTERSECTS"),
            _rename_op("s_disjoint", "s_intersects"),
        ),
        {"cql2/spatial"},
    ),
    (
        "CASEI ignored",
        _filter(lambda t: re.sub(r"CASEI\(([^()]*)\)", r"\1", t), _unwrap("casei")),
        {"cql2/casei"},
    ),
    (
        "ACCENTI ignored",
        _filter(lambda t: re.sub(r"ACCENTI\(([^()]*)\)", r"\1", t), _unwrap("accenti")),
        {"cql2/accenti"},
    ),
    (
        "+ read as -",
        _filter(lambda t: t.replace(" + ", " - "), _rename_op("+", "-")),
        {"cql2/arithmetic"},
    ),
    (
        "IN looks at the first value only",
        _filter(lambda t: re.sub(r" IN \(([^,]*),[^)]*\)", r" IN (\1)", t), _first_of_in),
        {"cql2/in"},
    ),
    (
        "IS NULL read as IS NOT NULL",
        _filter(lambda t: t.replace(" IS NULL", " IS NOT NULL"), _not_null),
        {"cql2/null"},
    ),
    (
        "filter with bbox ignores the bbox",
        _params(lambda p: {k: v for k, v in p.items() if not (k == "bbox" and "filter" in p)}),
        {"filter/mixing-expressions"},
    ),
    (
        "invalid filters answered 200",
        _params(_drop_invalid_filter),
        {"features-filter/response-invalid"},
    ),
    (
        "queryable parameters ignored",
        _params(
            lambda p: {k: v for k, v in p.items() if k not in ("name", "genus", "street", "height")}
        ),
        {"queryables-query-parameters/parameters"},
    ),
    (
        "filter-lang enum without cql2-json",
        _api(
            lambda d: next(p for p in _items_params(d) if p["name"] == "filter-lang")[
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
            _collections(
                lambda c: c.update(links=[x for x in c["links"] if "queryables" not in x["rel"]])
            ),
        ),
        {"queryables/queryables-link"},
    ),
    # "#/crs" without a global list leaves the collection with no resolvable CRS at all, so
    # its list lacks CRS84 and its storageCrs is in no list either.
    (
        "#/crs without a global list",
        lambda a: B.rewrite_json(a, B.on_path(COLLECTION_DOCS), _global_only),
        {"crs/fc-md-crs-list-global", "crs/fc-md-crs-list", "crs/fc-md-storageCrs-valid-value"},
    ),
    (
        "crs not declared",
        _api(
            lambda d: _items_params(d).__setitem__(
                slice(None), [p for p in _items_params(d) if p["name"] != "crs"]
            )
        ),
        {"crs/fc-crs-definition"},
    ),
    (
        "explicit bbox-crs=CRS84 read differently",
        _params(_default_crs_box),
        {"crs/fc-bbox-crs-valid-default-value"},
    ),
    (
        "LIKE read as =",
        _filter(lambda t: re.sub(r"(\w+) LIKE ", r"\1 = ", t), _like_to_equals),
        {"cql2/like"},
    ),
    ("BETWEEN read as exclusive", _filter(_between_text, _between_exclusive), {"cql2/between"}),
    (
        "BBOX literal shifted",
        _filter(
            lambda t: re.sub(
                r"BBOX\(([^)]*)\)",
                lambda m: "BBOX(" + ", ".join(repr(float(v) + 0.05) for v in m[1].split(",")) + ")",
                t,
            ),
            _shift_bbox,
        ),
        {"cql2/basic-spatial"},
    ),
    ("POINT literal shifted", _filter(_point_text, _shift_point), {"cql2/spatial-plus"}),
    (
        "property < property read as >",
        _filter(
            lambda t: re.sub(r"\b([a-z_]+) < ([a-z_]+)\b", r"\1 > \2", t), _swap_property_comparison
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
