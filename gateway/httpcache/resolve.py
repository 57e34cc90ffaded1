"""Which sources an answer depends on, and the validator it gets, decided from the request
alone (before any route runs): what lets a 304 or a cached answer skip the query.

The request is matched against the application's own routes, so the paths here can never
drift from the router's. Only the Features pages are known; any other route gets None.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

import gateway
from connectors.base import SourceVersion
from gateway.catalog import CollectionSource
from gateway.config import LoadedConfig
from gateway.errors import GatewayError
from gateway.features.encoders import negotiate
from gateway.features.items import STREAM_ABOVE
from gateway.features.params import parse_format
from gateway.features.routes import Features
from gateway.features.views import ApiView
from gateway.federation import FederatedCollection
from gateway.httpcache.conditions import Validator
from gateway.httpcache.versions import Versions

SCOPE_KEY = "twinbridge.validator"
_UNSET = object()


class Depends(Enum):
    CONFIG = "config"  # the configuration alone (landing page, conformance)
    VIEW = "view"  # metadata of every source of the view (collections, API document)
    METADATA = "metadata"  # metadata of the collection's sources (collection, schemas)
    DATA = "data"  # the data of the collection's sources (items, item)


def _sources(view: ApiView, cid: str | None) -> list[CollectionSource] | None:
    """The sources behind a collection (cid) or behind every collection of the view."""
    if cid is None:
        found = list(view.collections.values())
    elif cid in view.collections:
        found = [view.collections[cid]]
    else:
        return None
    out: list[CollectionSource] = []
    for c in found:
        out.extend(c.members if isinstance(c, FederatedCollection) else [c])  # type: ignore[list-item]
    return out


def _max_age(seconds: int) -> str:
    return f"max-age={seconds}" if seconds > 0 else "no-cache"


def _digest(parts: Sequence[Any]) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


class Validators:
    def __init__(self, loaded: LoadedConfig, features: Features, routes: list[BaseRoute]):
        self.settings = loaded.config.server.http_cache
        self.features = features
        self.routes = routes  # the application's list, read per request
        # a new configuration or release makes new tags: the documents may differ
        self.generation = _digest([gateway.__version__, loaded.config.model_dump_json()])
        self.started = datetime.now(UTC).replace(microsecond=0)
        self.versions = Versions(self.settings.version_ttl)
        f = features
        self.depends: dict[Callable[..., Any], Depends] = {
            f.landing: Depends.CONFIG,
            f.conformance: Depends.CONFIG,
            f.api: Depends.VIEW,
            f.api_html: Depends.VIEW,
            f.collections: Depends.VIEW,
            f.collection_page: Depends.METADATA,
            f.schema_doc: Depends.METADATA,
            f.items: Depends.DATA,
            f.item: Depends.DATA,
        }

    async def resolve(self, scope: Scope) -> Validator | None:
        """The request's validator (computed once per request, kept in its scope)."""
        known = scope.get(SCOPE_KEY, _UNSET)
        if known is _UNSET:
            known = await self._resolve(scope)
            scope[SCOPE_KEY] = known
        return known  # type: ignore[return-value]

    def _match(self, scope: Scope) -> tuple[Depends, dict[str, Any]] | None:
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                depends = self.depends.get(child.get("endpoint"))  # type: ignore[arg-type]
                return None if depends is None else (depends, child.get("path_params", {}))
            if match is Match.PARTIAL:  # a route of another method: not ours to cache
                return None
        return None

    async def _resolve(self, scope: Scope) -> Validator | None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        matched = self._match(scope)
        if matched is None:
            return None
        depends, params = matched
        request = Request({**scope, "path_params": params})
        try:
            view, root = self.features.view(request)
            fmt = negotiate(request, parse_format(request.query_params.get("f")))
        except GatewayError:
            return None  # the route answers the error
        sources = [] if depends is Depends.CONFIG else _sources(view, params.get("cid"))
        if sources is None:
            return None
        versions = [
            await (self.versions.data(s) if depends is Depends.DATA else self.versions.metadata(s))
            for s in sources
        ]
        query = sorted(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        request_key = [self.generation, scope["path"], query, fmt, root]
        return self._validator(depends, sources, versions, request_key)

    def _validator(
        self,
        depends: Depends,
        sources: list[CollectionSource],
        versions: list[SourceVersion | None],
        request_key: list[Any],
    ) -> Validator:
        known = [v for v in versions if v is not None]
        complete = len(known) == len(versions)
        etag = _digest([*request_key, [v.tag for v in known]]) if complete else None
        modified = [v.modified for v in known if v.modified is not None]
        last_modified = None
        if complete and len(modified) == len(known):
            last_modified = max([self.started, *modified])
        if depends is not Depends.DATA:
            age = self.settings.metadata_max_age
            return Validator(
                f'"{etag}"' if etag else None, last_modified, _max_age(age), "Accept", etag
            )
        ages = [s.cfg.http_cache.items_max_age for s in sources]
        age = min((a if a is not None else self.settings.items_max_age) for a in ages)
        key, ttl = etag, None
        if etag is None:  # no version: kept for a while only where the operator allows it
            ttl = min(s.cfg.http_cache.response_ttl for s in sources)
            key = _digest([*request_key, "ttl"]) if ttl > 0 else None
        if _streamed(request_key[2]):
            key = None
        return Validator(
            f'"{etag}"' if etag else None, last_modified, _max_age(age), "Accept", key, ttl
        )


def _streamed(query: list[tuple[str, str]]) -> bool:
    """Pages above STREAM_ABOVE are written as they stream: never kept whole."""
    for name, value in query:
        if name == "limit":
            try:
                return int(value) > STREAM_ABOVE
            except ValueError:
                return False
    return False
