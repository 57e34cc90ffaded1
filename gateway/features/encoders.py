"""Content negotiation and the response writers (JSON via orjson, HTML via templates)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.features import html
from gateway.features.links import HTML, JSON

_OFFERED = {"application/json": "json", "application/geo+json": "json", "text/html": "html"}


def negotiate(request: Request, f: str | None) -> str:
    """`f` wins; else the Accept header's best match; JSON when there is none (OWSLib and
    many scripts send no Accept, or */*)."""
    if f:
        return f
    accept = request.headers.get("accept")
    if not accept:
        return "json"
    best, best_q = "json", 0.0
    for position, part in enumerate(accept.split(",")):
        media, _, rest = part.strip().partition(";")
        q = 1.0
        for param in rest.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        fmt = _OFFERED.get(media.strip().lower())
        # Equal weights: the first listed wins (browsers list text/html first).
        if fmt and q > best_q:
            best, best_q = fmt, q - position * 1e-6
    return best


def json_response(doc: Any, media_type: str = JSON, status: int = 200, **headers: str) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=media_type, headers=headers)


def html_response(
    kind: str, doc: dict[str, Any], title: str, crumbs: list[tuple[str, str]], status: int = 200
) -> Response:
    body = html.render(kind, doc, title=title, breadcrumbs=crumbs)  # type: ignore[arg-type]
    return Response(body, status_code=status, media_type=HTML + "; charset=utf-8")
