"""An API view: what one OGC API – Features root serves. The federated root `/` and each
tenant `/{tenant}/` are views over the same catalog, so one set of routes serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.access.openapi import ApiSecurity
from gateway.catalog import Catalog, CollectionSource, Extent
from gateway.federation import FederatedCollection
from gateway.mapping import Feature
from gateway.query.model import Page, PageStream, Query
from profiles import Profile


class Collection(Protocol):
    id: str
    title: str
    description: str
    temporal_property: str | None
    profile: Profile | None

    async def items(self, query: Query) -> Page: ...
    async def stream(self, query: Query) -> PageStream: ...
    async def item(self, feature_id: str) -> Feature | None: ...
    def extent(self) -> Extent: ...
    def fields(self) -> dict[str, Any]: ...
    def queryables(self) -> list[str]: ...
    def sortables(self) -> list[str]: ...

    @property
    def storage_crs(self) -> str: ...

    @property
    def geometry_type(self) -> str | None: ...


@dataclass
class ApiView:
    path: str  # "" for the federated root, "/hamburg" for a tenant
    title: str
    description: str
    collections: dict[str, Collection]
    tenants: dict[str, str] = field(default_factory=dict)  # federated root: id -> title
    data_catalog: bool = False  # the federated root links /catalog when it is served
    security: ApiSecurity | None = None  # a tenant's credentials, for its OpenAPI document

    def writable(self) -> list[str]:
        """The collections that take writes (Part 4): a tenant's, whose source can write."""
        return [
            cid
            for cid, c in self.collections.items()
            if isinstance(c, CollectionSource) and c.writable()
        ]


def build_views(
    catalog: Catalog, closed: frozenset[str] = frozenset()
) -> tuple[ApiView, dict[str, ApiView]]:
    """`closed`: tenants whose reading is not public. The federated root leaves them out
    entirely (collections, members, the tenant list), for every client: one answer per
    URL keeps the federated root cacheable, and nothing of a closed tenant leaks there."""
    settings = catalog.settings
    by_profile = {
        pid: [m for m in members if m.tenant not in closed]
        for pid, members in catalog.by_profile().items()
    }
    federated: dict[str, Collection] = {
        pid: FederatedCollection(pid, members, settings.federation)
        for pid, members in by_profile.items()
        if members
    }
    root = ApiView(
        path="",
        title=settings.title,
        description=settings.description,
        collections=federated,
        tenants={tid: t.title for tid, t in catalog.tenants.items() if tid not in closed},
        data_catalog=settings.catalog.enabled,
    )
    tenants = {
        tid: ApiView(
            path=f"/{tid}",
            title=t.title,
            description=t.description or f"OGC API – Features of {t.title}",
            collections=dict(t.collections),
        )
        for tid, t in catalog.tenants.items()
    }
    return root, tenants
