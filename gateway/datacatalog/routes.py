"""`/catalog` (JSON, HTML, DCAT-AP JSON-LD) and `/catalog/profiles/{id}`: thin handlers
that read the refresher's cache and hand documents to the encoders. Nothing here computes
a figure."""

from __future__ import annotations

from typing import Any

from cachetools import LRUCache
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import profiles
from gateway.config import LoadedConfig
from gateway.datacatalog.cells import Dataset
from gateway.datacatalog.config import TenantCatalog
from gateway.datacatalog.dcat import dcat_doc
from gateway.datacatalog.documents import Tenant, catalog_doc, profile_doc
from gateway.datacatalog.matrix import matrix
from gateway.datacatalog.refresher import Refresher
from gateway.datacatalog.usage import usage_table
from gateway.errors import InvalidParameter, NotFound
from gateway.features.encoders import html_response, json_response
from gateway.features.links import HTML, JSON, base_url, link
from gateway.features.params import single_values
from profiles import Profile

JSONLD = "application/ld+json"
FORMATS = {"json": JSON, "html": HTML, "jsonld": JSONLD}
_BY_MEDIA = {JSON: "json", HTML: "html", JSONLD: "jsonld"}


def negotiate(request: Request) -> str:
    """`f` (json, html, jsonld) wins; else the Accept header's best of the three; JSON
    when none is named (an unknown `f` is a 400)."""
    values = single_values(request.query_params, ("f",))
    f = values.get("f")
    if f is not None:
        if f.lower() not in FORMATS:
            raise InvalidParameter("f", f"'{f}' is not one of {', '.join(FORMATS)}")
        return f.lower()
    best, best_q = "json", 0.0
    for position, part in enumerate(request.headers.get("accept", "").split(",")):
        media, _, params = part.strip().partition(";")
        fmt = _BY_MEDIA.get(media.strip().lower())
        if fmt is None:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q - position * 1e-6 > best_q:
            best, best_q = fmt, q - position * 1e-6
    return best


def _links(root: str, current: str) -> list[dict[str, str]]:
    titles = {"json": "As JSON", "html": "As HTML", "jsonld": "As DCAT-AP (JSON-LD)"}
    return [
        link(
            f"{root}/catalog?f={fmt}",
            "self" if fmt == current else "alternate",
            media,
            "This document" if fmt == current else titles[fmt],
        )
        for fmt, media in FORMATS.items()
    ]


def _all_profiles(datasets: list[Dataset]) -> list[Profile]:
    """Every installed profile (a row even where no tenant delivers it), else at least
    those of the datasets when a profile folder is broken."""
    found = {d.profile.id: d.profile for d in datasets}
    try:
        for pid in profiles.available():
            found.setdefault(pid, profiles.get(pid))
    except (profiles.ProfileError, LookupError):
        pass
    return [found[pid] for pid in sorted(found)]


class DataCatalog:
    def __init__(self, loaded: LoadedConfig, datasets: list[Dataset], refresher: Refresher) -> None:
        config = loaded.config
        self.server = config.server
        self.datasets = datasets
        self.refresher = refresher
        self.profiles = _all_profiles(datasets)
        self.tenants = {
            tid: (Tenant(tid, t.title or tid), t.catalog or TenantCatalog())
            for tid, t in config.tenants.items()
            if t.access.public_read  # a closed tenant is not listed
        }
        self.usage: Any = None  # gateway.usage.service.Usage, when its KPIs are kept
        # Answers as sent, by (format, public root, cache versions): the documents change
        # only when the refresher stores figures (or usage a summary), so most requests
        # just send bytes.
        self._answers: LRUCache[tuple[str, str, int, int], Response] = LRUCache(maxsize=32)

    def routes(self) -> list[Route]:
        return [
            Route("/catalog", self.catalog, methods=["GET", "HEAD"]),
            Route("/catalog/profiles/{pid}", self.profile, methods=["GET", "HEAD"]),
            Route("/catalog/profiles/{pid}/{version}", self.profile, methods=["GET", "HEAD"]),
        ]

    def _state(self) -> dict[str, Any]:
        settings = self.server.catalog
        return {
            "refreshSeconds": settings.refresh_seconds,
            "lastRefresh": self.refresher.last_round,
        }

    async def catalog(self, request: Request) -> Response:
        fmt = negotiate(request)
        root = base_url(request, self.server)
        usage = self.usage.version if self.usage is not None else 0
        key = (fmt, root, self.refresher.version, usage)
        kept = self._answers.get(key)
        if kept is None:
            kept = self._answers[key] = self._render(fmt, root)
        return Response(kept.body, kept.status_code, kept.headers)  # type: ignore[arg-type]

    def _render(self, fmt: str, root: str) -> Response:
        figures = self.refresher.figures
        title = f"{self.server.title}: data catalog"
        if fmt == "jsonld":
            doc = dcat_doc(
                root, title, self.server.description, self.tenants, self.datasets, figures
            )
            return json_response(doc, JSONLD)
        tenants = [t for t, _ in self.tenants.values()]
        doc = catalog_doc(
            root, title, self.profiles, tenants, self.datasets, figures, self._state()
        )
        doc["links"] = _links(root, fmt)
        if self.usage is not None:
            doc["usage"] = self.usage.document()
        if fmt == "html":
            crumbs = [(self.server.title, f"{root}/"), ("Catalog", f"{root}/catalog")]
            extra = {"matrix": matrix(doc), "usage": usage_table(doc.get("usage"))}
            return html_response(
                "catalog", doc, title, crumbs, static=f"{root}/static", extra=extra
            )
        return json_response(doc)

    async def profile(self, request: Request) -> Response:
        f = single_values(request.query_params, ("f",)).get("f")
        if f is not None and f.lower() != "json":
            raise InvalidParameter("f", f"'{f}' is not one of json")
        pid = request.path_params["pid"]
        found = next((p for p in self.profiles if p.id == pid), None)
        if found is None:
            raise NotFound(f"no profile '{pid}'")
        version = request.path_params.get("version")
        if version is not None and version != found.version:
            raise NotFound(f"profile '{pid}' is served in version {found.version} only")
        root = base_url(request, self.server)
        doc = {
            **profile_doc(root, found),
            "description": found.description,
            "geometryType": found.geometry_type,
            "queryables": list(found.queryables),
            "sortables": list(found.sortables),
            "codeLists": found.code_lists,
            "schema": found.schema,
        }
        return json_response(doc)
