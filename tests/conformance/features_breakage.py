"""Named ways to break the demo gateway, one fault each, for test_broken_features: JSON
rewrites, query rewrites and request matchers built on `breakers`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from conformance.timeutil import parse_rfc3339
from tests.conformance import breakers as B

ITEMS = r"/collections/[^/]+/items$"
ITEM = r"/collections/[^/]+/items/[^/]+$"


def shift_numbers(doc: Any, scope: B.Scope) -> Any:
    if isinstance(doc.get("numberMatched"), int):
        doc["numberMatched"] += 5
    return doc


def bad_returned(doc: Any, scope: B.Scope) -> Any:
    if "numberReturned" in doc:
        doc["numberReturned"] += 1
    return doc


def first_page_projected(doc: Any, scope: B.Scope) -> Any:
    def scale(coordinates: Any) -> Any:
        if coordinates and isinstance(coordinates[0], int | float):
            return [c * 100_000 for c in coordinates[:2]]
        return [scale(c) for c in coordinates]

    for f in doc.get("features", []):
        f["geometry"]["coordinates"] = scale(f["geometry"]["coordinates"])
    return doc


def first_without_geometry(doc: Any, scope: B.Scope) -> Any:
    """/req/core/fc-bbox-response A: only features whose geometry intersects the box."""
    for f in doc.get("features", [])[:1]:
        f["geometry"] = None
    return doc


def prev_to_start(link: dict) -> None:
    link["href"] = re.sub(r"[?&]offset=\d+", "", link["href"])


def bbox(params: dict[str, str]) -> list[float] | None:
    """The bbox when it is well-formed (malformed ones must still get their 400)."""
    try:
        numbers = [float(v) for v in params.get("bbox", "").split(",")]
    except ValueError:
        return None
    return numbers if len(numbers) == 4 else None


def shrink_bbox(params: dict[str, str]) -> dict[str, str]:
    numbers = bbox(params)
    if numbers:
        numbers[2] -= (numbers[2] - numbers[0]) / 10
        params["bbox"] = ",".join(map(repr, numbers))
    return params


def ignore_bbox(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != "bbox" or bbox(params) is None}


def valid_datetime(value: str) -> bool:
    ends = value.split("/")
    return all(e in ("", "..") or parse_rfc3339(e) for e in ends) and len(ends) <= 2


def ignore_datetime(params: dict[str, str]) -> dict[str, str]:
    ok = valid_datetime(params.get("datetime", "x"))
    return {k: v for k, v in params.items() if k != "datetime" or not ok}


def shift_datetime(params: dict[str, str]) -> dict[str, str]:
    value = params.get("datetime", "")
    if value.endswith("/..") and valid_datetime(value):
        params["datetime"] = re.sub(r"^(\d{4})", lambda m: str(int(m[1]) + 1), value)
    return params


def small_limit_ignored(params: dict[str, str]) -> dict[str, str]:
    if params.get("limit", "").isdigit() and int(params["limit"]) < 10:
        params.pop("limit")
    return params


def api(mutate: Callable[[dict], None]) -> Callable[[Any, B.Scope], Any]:
    def change(doc: Any, scope: B.Scope) -> Any:
        mutate(doc)
        return doc

    return change


def items_param(doc: dict, name: str) -> dict:
    return doc["components"]["parameters"][name]


def drop_400(doc: dict) -> None:
    for path, item in doc["paths"].items():
        if path.endswith("/items"):
            item["get"]["responses"].pop("400", None)


def entry_items_links(doc: Any, scope: B.Scope) -> Any:
    for c in doc.get("collections", []):
        c["links"] = [x for x in c["links"] if not (x["rel"] == "items" and "geo" in x["type"])]
    return doc


def html_without_collections_link(body: bytes) -> bytes:
    return re.sub(rb'<a [^>]*href="[^"]*/collections"[^>]*>.*?</a>', b"", body, flags=re.S)


def unknown_ignored(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not k.startswith("unknownQueryParameter")}


def invalid_limit_ignored(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not (k == "limit" and not v.isdigit())}


def in_html(app: Any, path: str, old: bytes, new: bytes) -> Any:
    """The same change in the HTML representation, so both stay consistent."""

    def html(scope: B.Scope) -> bool:
        return bool(re.search(path, scope["path"])) and b"html" in dict(scope["headers"]).get(
            b"accept", b""
        )

    return B.rewrite_body(app, html, lambda body: body.replace(old, new))


def collection_title_number(doc: Any, scope: B.Scope) -> Any:
    for c in doc.get("collections", [doc]):
        c["title"] = 42
    return doc


def retitle(doc: Any, scope: B.Scope) -> Any:
    doc["title"] = "Another title"
    return doc


def json_accept(scope: B.Scope) -> bool:
    return b"html" not in dict(scope["headers"]).get(b"accept", b"")


def on(pattern: str) -> B.Match:
    """Matching JSON (not HTML) requests to a path."""
    regex = re.compile(pattern)
    return lambda s: bool(regex.search(s["path"])) and json_accept(s)


def first_items_page(scope: B.Scope) -> bool:
    return (
        bool(re.search(ITEMS, scope["path"])) and not scope["query_string"] and json_accept(scope)
    )


def paged(scope: B.Scope) -> bool:
    """JSON items requests with an explicit limit (as paging clients send them)."""
    return (
        bool(re.search(ITEMS, scope["path"]))
        and "limit" in B.params_of(scope)
        and json_accept(scope)
    )


def feature_url(scope: B.Scope) -> bool:
    return bool(re.search(ITEM, scope["path"])) and json_accept(scope)


def with_offset_step(step: int) -> Callable[[Any, B.Scope], Any]:
    """Next links that step `step` items less than the page (pages overlap); no prev."""

    def mutate(doc: Any, scope: B.Scope) -> Any:
        doc["links"] = [x for x in B.links(doc) if x.get("rel") != "prev"]
        for x in B.links(doc):
            if x.get("rel") == "next":
                x["href"] = re.sub(
                    r"offset=(\d+)", lambda m: f"offset={int(m[1]) - step}", x["href"]
                )
        return doc

    return mutate


def bigger_next_pages(doc: Any, scope: B.Scope) -> Any:
    """The first page's next link asks for 5 more items per page than the request did."""
    doc["links"] = [x for x in B.links(doc) if x.get("rel") != "prev"]
    if "offset" not in B.params_of(scope):
        for x in B.links(doc):
            if x.get("rel") == "next":
                x["href"] = re.sub(r"limit=(\d+)", lambda m: f"limit={int(m[1]) + 5}", x["href"])
    return doc


def reject_large_limit(app: Any) -> Any:
    def too_large(scope: B.Scope) -> bool:
        limit = B.params_of(scope).get("limit", "")
        return bool(re.search(ITEMS, scope["path"])) and limit.isdigit() and int(limit) > 10_000

    return B.set_status(app, too_large, 400)


def reject_intervals(app: Any) -> Any:
    def interval(scope: B.Scope) -> bool:
        return bool(re.search(ITEMS, scope["path"])) and "/" in B.params_of(scope).get(
            "datetime", ""
        )

    return B.set_status(app, interval, 400)


def shrink_extent(doc: Any, scope: B.Scope) -> Any:
    for c in doc.get("collections", [doc]):
        box = c["extent"]["spatial"]["bbox"][0]
        c["extent"]["spatial"]["bbox"][0] = [box[0] + 0.1, box[1] + 0.1, box[2] - 0.1, box[3] - 0.1]
    return doc


def extra_api_path(doc: dict) -> None:
    collection = next(p for p in doc["paths"] if p.endswith("/items")).removesuffix("/items")
    ok = {"200": {"description": "The schema of the collection"}}
    doc["paths"][f"{collection}/no-such-resource"] = {"get": {"operationId": "x", "responses": ok}}
