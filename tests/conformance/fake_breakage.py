"""Named ways to break the fake Features server (Part 2 CRS, Part 3 filters), one fault each,
for test_broken_crs_filter."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import cql2

from tests.conformance import breakers as B
from tests.conformance.fake_features import CRS84

ITEMS = r"/items(/[^/]+)?$"


def collections(change: Callable[[dict], None]) -> Callable[[Any, B.Scope], Any]:
    def mutate(doc: Any, scope: B.Scope) -> Any:
        for c in doc.get("collections", [doc]):
            change(c)
        return doc

    return mutate


def swap_axes(doc: Any, scope: B.Scope) -> Any:
    for f in doc.get("features", [doc]):
        if f.get("geometry"):
            x, y = f["geometry"]["coordinates"][:2]
            f["geometry"]["coordinates"] = [y, x]
    return doc


def params(fn: Callable[[dict[str, str]], dict[str, str]]) -> Callable[[Any], Any]:
    return lambda app: B.rewrite_query(app, B.on_path(ITEMS), fn)


def drop_if(name: str, test: Callable[[str], bool]) -> Callable[[Any], Any]:
    return params(lambda p: {k: v for k, v in p.items() if not (k == name and test(v))})


def walk(node: Any, change: Callable[[dict], Any]) -> Any:
    if isinstance(node, list):
        return [walk(x, change) for x in node]
    if isinstance(node, dict):
        node = {k: walk(v, change) for k, v in node.items()}
        return change(node) if "op" in node else node
    return node


def filter(text: Callable[[str], str], js: Callable[[dict], Any]) -> Callable[[Any], Any]:
    """Rewrite `filter` in both encodings before the server reads it."""

    def change(params: dict[str, str]) -> dict[str, str]:
        if "filter" not in params:
            return params
        if params.get("filter-lang") == "cql2-json":
            params["filter"] = json.dumps(walk(json.loads(params["filter"]), js))
        else:
            params["filter"] = text(params["filter"])
        return params

    return params(change)


def rename_op(old: str, new: str) -> Callable[[dict], Any]:
    return lambda n: {**n, "op": new} if n["op"] == old else n


def unwrap(op: str) -> Callable[[dict], Any]:
    return lambda n: n["args"][0] if n["op"] == op else n


def first_of_in(n: dict) -> Any:
    return {**n, "args": [n["args"][0], n["args"][1][:1]]} if n["op"] == "in" else n


def not_null(n: dict) -> Any:
    return {"op": "not", "args": [n]} if n["op"] == "isNull" else n


def is_cql2(text: str) -> bool:
    try:
        cql2.parse_text(text)
    except Exception:
        return False
    return True


def drop_invalid_filter(params: dict[str, str]) -> dict[str, str]:
    """Treat a filter the server cannot read as no filter at all (instead of a 400)."""
    lang = params.get("filter-lang", "cql2-text")
    readable = lang == "cql2-json" or (lang == "cql2-text" and is_cql2(params.get("filter", "")))
    if "filter" in params and not readable:
        return {k: v for k, v in params.items() if k not in ("filter", "filter-lang")}
    return params


def api(change: Callable[[dict], None]) -> Callable[[Any], Any]:
    def mutate(doc: Any, scope: B.Scope) -> Any:
        change(doc)
        return doc

    return lambda app: B.rewrite_json(app, B.on_path(r"^/api$"), mutate)


def items_params(doc: dict) -> list[dict]:
    return doc["paths"]["/collections/trees/items"]["get"]["parameters"]


def global_only(doc: Any, scope: B.Scope) -> Any:
    """Collections refer to the global CRS list ("#/crs") that /collections leaves out."""
    doc.pop("crs", None)
    for c in doc.get("collections", [doc]):
        c["crs"] = ["#/crs"]
    return doc


def like_to_equals(node: dict) -> Any:
    if node["op"] == "like" and "property" in node["args"][0]:
        return {**node, "op": "="}
    return node


def between_exclusive(node: dict) -> Any:
    if node["op"] != "between":
        return node
    value, low, high = node["args"]
    return {
        "op": "and",
        "args": [{"op": ">", "args": [value, low]}, {"op": "<", "args": [value, high]}],
    }


def between_text(text: str) -> str:
    return re.sub(r"(\w+) BETWEEN (\S+) AND (\S+)", r"(\1 > \2 AND \1 < \3)", text)


def shift_bbox(node: dict) -> Any:
    for arg in node["args"]:
        if isinstance(arg, dict) and "bbox" in arg:
            arg["bbox"] = [v + 0.05 for v in arg["bbox"]]
    return node


def shift_point(node: dict) -> Any:
    for arg in node["args"]:
        if isinstance(arg, dict) and arg.get("type") == "Point":
            arg["coordinates"] = [v + 1 for v in arg["coordinates"]]
    return node


def point_text(text: str) -> str:
    return re.sub(
        r"POINT \(([-\d.]+) ([-\d.]+)\)",
        lambda m: f"POINT ({float(m[1]) + 1} {float(m[2]) + 1})",
        text,
    )


def swap_property_comparison(node: dict) -> Any:
    if node["op"] == "<" and isinstance(node["args"][1], dict) and "property" in node["args"][1]:
        return {**node, "op": ">"}
    return node


def default_crs_box(params: dict[str, str]) -> dict[str, str]:
    if params.get("bbox-crs") == CRS84 and "bbox" in params:
        numbers = [float(v) for v in params["bbox"].split(",")]
        numbers[2] -= (numbers[2] - numbers[0]) / 5
        params["bbox"] = ",".join(map(repr, numbers))
    return params


def stranger_in_other_crs(app: Any) -> Any:
    """A bbox in another CRS also answers a feature that CRS84 never returns (say, one from
    a stale cache): what the ETS method, a subset test, is there to catch."""

    def mutate(doc: Any, scope: B.Scope) -> Any:
        if "features" in doc and B.params_of(scope)["bbox-crs"] != CRS84:
            point = {"type": "Point", "coordinates": [0.0, 0.0]}
            stranger = {"type": "Feature", "id": "stranger", "geometry": point, "properties": {}}
            doc["features"].append(stranger)
        return doc

    return B.rewrite_json(app, B.with_param(r"/items$", "bbox-crs"), mutate)
