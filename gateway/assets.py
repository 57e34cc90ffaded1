"""The gateway's own static files under `/static/` (gateway/static/, package data): the
pages' stylesheet and map script, and OpenLayers in `vendor/`, which scripts/setup-web.sh
copies there (never committed; a pip-only install has no map, and its pages say so).

Pages ask for each file with a `?v=` version taken from its size and mtime, so a browser
may keep vendor files for a year and still gets a new OpenLayers after setup-web.sh
replaces it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Receive, Scope, Send

from gateway import metrics

STATIC = Path(__file__).parent / "static"
OPENLAYERS = ("vendor/ol.js", "vendor/ol.css")
VENDOR_CACHE = "public, max-age=31536000, immutable"
OWN_CACHE = "public, max-age=3600"


def asset_url(base: str, name: str) -> str:
    """`base`/`name` with a version of the file's content (size and mtime)."""
    try:
        stat = (STATIC / name).stat()
    except OSError:
        return f"{base}/{name}"
    version = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    return f"{base}/{name}?v={version}"


def has_openlayers() -> bool:
    """Whether setup-web.sh put OpenLayers here; checked per page, as it may run later."""
    return all((STATIC / name).is_file() for name in OPENLAYERS)


class _Static(StaticFiles):
    """Starlette's static files (no path escapes, no symlinks out, ETag and 304) with our
    caching and a `nosniff`, so a file is never run as anything but its declared type."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendor = Path(full_path).resolve().is_relative_to((STATIC / "vendor").resolve())
        response.headers["Cache-Control"] = VENDOR_CACHE if vendor else OWN_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_mount() -> Mount:
    """`/static`, labelled for the request metrics like every other route."""
    files = _Static(directory=STATIC)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope[metrics.ROUTE_KEY] = "/static"
        await files(scope, receive, send)

    return Mount("/static", app=app, name="static")
