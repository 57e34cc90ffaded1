"""Which sources an answer depends on, and the validator it gets, decided from the request
alone (before any route runs): what lets a 304 or a cached answer skip the query.

The request is matched against the application's own routes, so the paths here can never
drift from the router's. Only the Features pages are known; any other route gets None.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
from gateway.features.links import base_url
from gateway.features.params import parse_format
from gateway.features.routes import Features
from gateway.features.views import ApiView
from gateway.federation import FederatedCollection
from gateway.httpcache.conditions import Validator
from gateway.httpcache.versions import Versions
from gateway.metrics import ROUTE_KEY
from gateway.resilience import deadline_within
from gateway.sensorthings.facade import StaFacade

SCOPE_KEY = "twinbridge.validator"
MEMO_SIZE = 4096  # distinct requests whose Asked is kept (all dropped when full)
# the request headers an answer's links and representation depend on
_SHAPING = frozenset(
    {
        b"host",
        b"accept",
        b"forwarded",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-prefix",
    }
)
_UNSET = object()


class Depends(Enum):
    CONFIG = "config"  # the configuration alone (landing page, conformance)
    VIEW = "view"  # metadata of every source of the view (collections, API document)
    METADATA = "metadata"  # metadata of the collection's sources (collection, schemas)
    DATA = "data"  # the data of the collection's sources (items, item)
    STA = "sta"  # a tenant's SensorThings store


@dataclass
class Asked:
    depends: Depends
    sources: list[CollectionSource]
    request_key: list[Any]  # configuration generation, path, sorted query, format, base URL
    route: str = ""  # the route's template, for the request metrics of a 304 or hit
    service: Any = None  # the tenant's SensorThings service (Depends.STA)
    params: dict[str, Any] = field(default_factory=dict)  # the route's, for usage KPIs
    last: tuple[Any, Validator] | None = None  # the versions last seen, their validator


def _raw_key(scope: Scope) -> tuple[Any, ...]:
    client = scope.get("client")
    return (
        scope["path"],
        scope.get("query_string", b""),
        tuple((k, v) for k, v in scope["headers"] if k in _SHAPING),
        client[0] if client else None,  # whether a proxy is trusted
        scope.get("scheme"),
        tuple(scope.get("server") or ()),
    )


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
    def __init__(
        self,
        loaded: LoadedConfig,
        features: Features,
        routes: list[BaseRoute],
        sta: StaFacade | None = None,
    ) -> None:
        self.settings = loaded.config.server.http_cache
        self.features = features
        self.sta = sta
        self.routes = routes  # the application's list, read per request
        # a new configuration or release makes new tags: the documents may differ
        self.generation = _digest([gateway.__version__, loaded.config.model_dump_json()])
        self.started = datetime.now(UTC).replace(microsecond=0)
        self.versions = Versions(self.settings.version_ttl)
        self._asked: dict[tuple[Any, ...], Asked | None] = {}
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
        if sta is not None:
            self.depends[sta.api.tenant_root] = Depends.STA

    async def resolve(self, scope: Scope) -> Validator | None:
        """The request's validator (computed once per request, kept in its scope)."""
        known = scope.get(SCOPE_KEY, _UNSET)
        if known is _UNSET:
            known = await self._resolve(scope)
            scope[SCOPE_KEY] = known
        return known  # type: ignore[return-value]

    def _match(self, scope: Scope) -> tuple[Depends, dict[str, Any], str] | None:
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                endpoint = child.get("endpoint")
                endpoint = getattr(endpoint, "handler", endpoint)  # STA's AnyMethod
                depends = self.depends.get(endpoint)  # type: ignore[arg-type]
                if depends is None:
                    return None
                return depends, child.get("path_params", {}), getattr(route, "path", "")
        return None  # as the router: a FULL match wins over an earlier PARTIAL (method)

    async def _resolve(self, scope: Scope) -> Validator | None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        raw = _raw_key(scope)
        asked = self._asked.get(raw, _UNSET)
        if asked is _UNSET:
            asked = self._ask(scope)
            if len(self._asked) >= MEMO_SIZE:
                self._asked.clear()
            self._asked[raw] = asked
        if asked is None:
            return None
        assert isinstance(asked, Asked)
        scope.setdefault(ROUTE_KEY, asked.route)  # the route may not run
        scope.setdefault("path_params", asked.params)  # (the router sets its own if it does)
        if asked.depends is Depends.STA:
            return self._sta(asked)
        read = self.versions.data if asked.depends is Depends.DATA else self.versions.metadata
        with deadline_within(self.settings.version_timeout):  # a slow source: no validators
            versions = [await read(s) for s in asked.sources]
        writes = [self.versions.written_mark(s) for s in asked.sources]
        if asked.last is None or asked.last[0] != (versions, writes):
            key = asked.request_key
            validator = self._validator(asked.depends, asked.sources, versions, key, writes)
            asked.last = ((versions, writes), validator)
        return asked.last[1]

    def _ask(self, scope: Scope) -> Asked | None:
        """What a request asks, as far as caching cares: a pure function of the request's
        path, query and the headers in _SHAPING, so it is computed once per distinct one."""
        matched = self._match(scope)
        if matched is None:
            return None
        depends, params, route = matched
        request = Request({**scope, "path_params": params})
        query = sorted(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        if depends is Depends.STA:
            assert self.sta is not None
            service = self.sta.services.get(params.get("tenant", ""))
            root = base_url(request, self.features.settings)
            key = [self.generation, scope["path"], query, root]
            return Asked(depends, [], key, route, service, params=params)
        try:
            view, root = self.features.view(request)
            fmt = negotiate(request, parse_format(request.query_params.get("f")))
        except GatewayError:
            return None  # the route answers the error
        sources = [] if depends is Depends.CONFIG else _sources(view, params.get("cid"))
        if sources is None:
            return None
        key = [self.generation, scope["path"], query, fmt, root]
        return Asked(depends, sources, key, route, params=params)

    def _validator(
        self,
        depends: Depends,
        sources: list[CollectionSource],
        versions: list[SourceVersion | None],
        request_key: list[Any],
        writes: list[str | None] | None = None,
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
        if etag is None:  # kept for a while only where the operator allows it
            unknown = [s for s, v in zip(sources, versions, strict=True) if v is None]
            ttl = min(s.cfg.http_cache.response_ttl for s in unknown)
            tags = [v.tag if v else None for v in versions]
            key = _digest([*request_key, tags, writes, "ttl"]) if ttl > 0 else None
        return Validator(
            f'"{etag}"' if etag else None, last_modified, _max_age(age), "Accept", key, ttl
        )

    def _sta(self, asked: Asked) -> Validator | None:
        """A SensorThings read of a tenant's embedded store, tagged by the store's change
        counter, read on every request (no version_ttl): a client reads its own writes."""
        version = getattr(asked.service, "data_version", None)
        tag = version() if version is not None else None
        if tag is None:
            return None
        etag = _digest([*asked.request_key, tag])
        return Validator(f'"{etag}"', None, "no-cache", "", etag)
