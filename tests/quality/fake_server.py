"""A small OGC API – Features items endpoint serving hand-made street trees in pages, and
ways to break it (bad features, a looping next link, a failing page)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.quality.test_accumulator import tree


def make_app(features: list[dict[str, Any]], *, loop: bool = False, fail_page: int = -1) -> Any:
    async def items(request: Request) -> JSONResponse:
        limit = int(request.query_params.get("limit", "10"))
        offset = int(request.query_params.get("offset", "0"))
        page = offset // limit
        if page == fail_page:
            return JSONResponse({"code": "ServerError"}, status_code=500)
        chunk = features[offset : offset + limit]
        links = []
        if offset + limit < len(features):
            following = offset if loop else offset + limit
            links.append(
                {
                    "rel": "next",
                    "href": f"http://fake/collections/street-trees/items?limit={limit}"
                    f"&offset={following}",
                }
            )
        doc = {
            "type": "FeatureCollection",
            "numberMatched": len(features),
            "features": chunk,
            "links": links,
        }
        return JSONResponse(doc, media_type="application/geo+json")

    return Starlette(routes=[Route("/collections/street-trees/items", items)])


def good_trees(n: int) -> list[dict[str, Any]]:
    return [tree(f"t{i}") for i in range(n)]


def broken_trees(n: int) -> list[dict[str, Any]]:
    """Every fifth tree has a problem of its own kind."""
    out = good_trees(n)
    for i in range(0, n, 5):
        out[i] = tree(f"t{i}", height_m=None)
    for i in range(1, n, 5):
        out[i] = tree(f"t{i}", genus="Pinus")
    for i in range(2, n, 5):
        out[i] = tree(f"t{i}", geometry={"type": "Point", "coordinates": []})
    for i in range(3, n, 5):
        out[i] = tree("t0")  # a duplicate id
    return out
