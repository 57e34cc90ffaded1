"""The federated SensorThings root `/sta/v1.1/`: every tenant's entities in one view.

Ids are namespaced per source, `"leipzig:42"`, so they stay stable however many tenants
join: `/sta/v1.1/Things('leipzig:42')/Datastreams` is answered by tenant leipzig, and every
link in the answer keeps the namespaced form. Filters on ids take namespaced literals
(`id eq 'leipzig:42'`), rewritten per tenant.

Collections are the tenants' collections one after the other (tenants in name order);
the nextLink carries the tenant reached and that tenant's own continuation. With
`$orderby` (plain properties only) the tenants' sorted pages are merged and paging is by
offset. `@iot.count` is the sum of the tenants' exact counts. A tenant that fails is left
out and named in `@twinbridge.failedSources` (or the request fails, with `partial: fail`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from gateway.config import FederationSettings
from gateway.errors import GatewayError, InvalidParameter, NotFound, UpstreamFailed
from gateway.resilience import deadline_within
from gateway.sensorthings.config import StaServerSettings
from gateway.sensorthings.encode import Links
from gateway.sensorthings.odata import render
from gateway.sensorthings.odata.ast import Binary, In, Literal, Node, Path, Unary
from gateway.sensorthings.odata.bind import ID_NAMES
from gateway.sensorthings.odata.options import Expand, QueryOptions, parse_options
from gateway.sensorthings.paths import Key, ResourcePath, Segment
from gateway.sensorthings.store.read import query_string

TOKEN = "fed."


@dataclass
class Failed:
    """The tenants that failed during one request: each is named once and not asked again
    in that request (it would only spend the rest of the deadline)."""

    tenants: set[str] = field(default_factory=set)
    sources: list[dict[str, str]] = field(default_factory=list)


FALSE = Binary(0, "eq", Literal(0, 1, "number", "1"), Literal(0, 0, "number", "0"))


def split_key(key: Key | None) -> tuple[str, Key]:
    if not isinstance(key, str) or ":" not in key:
        raise NotFound(
            "ids in the federated view are 'tenant:id' strings, e.g. Things('leipzig:1')"
        )
    tenant, _, inner = key.partition(":")
    return tenant, int(inner) if inner.isdigit() else inner


def rewrite_ids(node: Node | None, tenant: str) -> Node | None:
    """`id eq 'leipzig:3'` becomes `id eq 3` for leipzig and false for every other tenant."""
    if node is None:
        return None
    if isinstance(node, Binary) and node.op in ("eq", "ne") and _is_id(node.left):
        value = _id_literal(node.right, tenant)
        if value is None:
            return FALSE if node.op == "eq" else Binary(node.pos, "eq", node.right, node.right)
        return replace(node, right=value)
    if isinstance(node, In) and _is_id(node.operand):
        items = [v for v in (_id_literal(i, tenant) for i in node.items) if v is not None]
        return replace(node, items=tuple(items)) if items else FALSE
    if isinstance(node, Binary):
        return replace(
            node, left=rewrite_ids(node.left, tenant), right=rewrite_ids(node.right, tenant)
        )
    if isinstance(node, Unary):
        return replace(node, operand=rewrite_ids(node.operand, tenant))
    return node


def _is_id(node: Node) -> bool:
    return isinstance(node, Path) and node.segments[-1] in ID_NAMES


def _id_literal(node: Node, tenant: str) -> Literal | None:
    if not (isinstance(node, Literal) and node.kind == "string" and ":" in str(node.value)):
        raise InvalidParameter("$filter", "ids in the federated view are 'tenant:id' strings")
    owner, key = split_key(node.value)
    if owner != tenant:
        return None
    return Literal(node.pos, key, "number" if isinstance(key, int) else "string", "")


def for_tenant(options: QueryOptions, tenant: str) -> QueryOptions:
    expand = tuple(Expand(e.rel, for_tenant(e.options, tenant)) for e in options.expand)
    return replace(options, filter=rewrite_ids(options.filter, tenant), expand=expand, texts={})


def _token(state: dict[str, Any]) -> str:
    return TOKEN + base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def _state(token: str | None) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        raw = token.removeprefix(TOKEN)
        state = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        index = state["i"]  # a position in the tenants' order: Python would count from the end
        assert token.startswith(TOKEN) and type(index) is int and index >= 0
        assert isinstance(state["c"], dict)
        parse_options(state["c"].items())
    except (
        binascii.Error,
        ValueError,
        orjson.JSONDecodeError,
        AssertionError,
        KeyError,
        TypeError,
        GatewayError,
    ):
        raise InvalidParameter("$skiptoken", "not a token of the federated view") from None
    return state


def _continuation(next_link: str | None) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    if not next_link:
        return {}
    keep = ("$skip", "$skiptoken", "$skipFilter")
    return {k: v for k, v in parse_qsl(urlsplit(next_link).query) if k in keep}


class FederatedService:
    writable = False
    multi_datastream = True
    api_key_env = None

    def __init__(
        self,
        services: dict[str, Any],
        settings: StaServerSettings,
        federation: FederationSettings | None = None,
    ) -> None:
        self.services = services
        self.order = sorted(services)
        self.settings = settings
        self.federation = federation or FederationSettings()

    def top(self, options: QueryOptions) -> int:
        return min(
            self.settings.default_top if options.top is None else options.top, self.settings.max_top
        )

    async def get(self, path: ResourcePath, options: QueryOptions, links: Links) -> Any:
        first = path.segments[0]
        if first.id is None:
            if len(path.segments) > 1 or path.member is not None:
                raise NotFound("a path below a collection needs an id")
            return await self.union(path, options, links)
        tenant, inner = self._split(path)
        return await self.services[tenant].get(
            inner, for_tenant(options, tenant), Links(links.root, tenant)
        )

    def _split(self, path: ResourcePath) -> tuple[str, ResourcePath]:
        tenants, segments = set(), []
        for seg in path.segments:
            if seg.id is None:
                segments.append(seg)
                continue
            tenant, key = split_key(seg.id)
            tenants.add(tenant)
            segments.append(Segment(seg.name, seg.type, key, seg.rel))
        if len(tenants) != 1 or (tenant := tenants.pop()) not in self.services:
            raise NotFound("no such entity in the federated view")
        return tenant, replace(path, segments=tuple(segments))

    async def _ask(
        self, tenant: str, path: ResourcePath, options: QueryOptions, links: Links, failed: Failed
    ) -> dict | None:
        """One tenant's answer; a failure is listed in this request's `failed` (or raised,
        with partial 'fail'), so concurrent requests never see each other's failures."""
        if tenant in failed.tenants:
            return None
        try:
            return await self.services[tenant].get(path, options, Links(links.root, tenant))
        except UpstreamFailed as e:
            if self.federation.partial == "fail":
                raise
            failed.tenants.add(tenant)
            failed.sources.append({"source": e.source, "error": e.description})
            return None

    async def union(
        self, path: ResourcePath, options: QueryOptions, links: Links
    ) -> dict[str, Any]:
        """Every tenant's entities; the tenants share the federation's deadline."""
        failed = Failed()
        with deadline_within(self.federation.timeout):
            if options.orderby:
                doc = await self._merged(path, options, links, failed)
            else:
                doc = await self._concatenated(path, options, links, failed)
        if failed.sources:
            doc = {"@twinbridge.failedSources": failed.sources, **doc}
        return doc

    async def _counts(
        self, path: ResourcePath, options: QueryOptions, links: Links, failed: Failed
    ) -> list[int]:
        probe = replace(
            options, top=0, skip=0, count=True, skiptoken=None, expand=(), skip_filter=None
        )
        docs = await asyncio.gather(
            *(self._ask(t, path, for_tenant(probe, t), links, failed) for t in self.order)
        )
        return [int(d["@iot.count"]) if d else 0 for d in docs]

    async def _concatenated(
        self, path: ResourcePath, options: QueryOptions, links: Links, failed: Failed
    ) -> dict[str, Any]:
        top, state = self.top(options), _state(options.skiptoken)
        counts = (
            await self._counts(path, options, links, failed)
            if options.count or (options.skip and not state)
            else None
        )
        if top == 0:
            return self._page(path, options, links, [], counts, None, top)
        index, inner = (state["i"], state["c"]) if state else (0, {})
        if state is None and options.skip and counts is not None:
            skip = options.skip
            while index < len(self.order) and skip >= counts[index]:
                skip, index = skip - counts[index], index + 1
            inner = {"$skip": str(skip)} if skip else {}
        values: list[Any] = []
        next_state = None
        while index < len(self.order) and next_state is None:
            tenant = self.order[index]
            base = replace(
                options,
                top=top - len(values),
                skip=0,
                skiptoken=None,
                count=False,
                skip_filter=None,
            )
            page_options = replace(
                parse_options(inner.items()), **_without(base, ("skip", "skiptoken", "skip_filter"))
            )
            doc = (
                await self._ask(tenant, path, for_tenant(page_options, tenant), links, failed)
                if top > len(values)
                else None
            )
            if doc is not None:
                values += doc["value"]
                if doc.get("@iot.nextLink"):
                    next_state = {"i": index, "c": _continuation(doc["@iot.nextLink"])}
                    break
            index, inner = index + 1, {}
            if len(values) >= top:
                later = await self._first_nonempty(path, options, links, index, counts, failed)
                next_state = None if later is None else {"i": later, "c": {}}
                break
        return self._page(path, options, links, values, counts, next_state, top)

    async def _first_nonempty(
        self,
        path: ResourcePath,
        options: QueryOptions,
        links: Links,
        start: int,
        counts: list[int] | None,
        failed: Failed,
    ) -> int | None:
        for j in range(start, len(self.order)):
            if counts is not None:
                if counts[j] > 0:
                    return j
                continue
            probe = replace(
                options, top=0, skip=0, count=True, skiptoken=None, expand=(), skip_filter=None
            )
            tenant = self.order[j]
            doc = await self._ask(tenant, path, for_tenant(probe, tenant), links, failed)
            if doc is not None and doc["@iot.count"] > 0:
                return j
        return None

    def _page(
        self,
        path: ResourcePath,
        options: QueryOptions,
        links: Links,
        values: list[Any],
        counts: list[int] | None,
        next_state: dict[str, Any] | None,
        top: int,
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if options.count and counts is not None:
            doc["@iot.count"] = sum(counts)
        if next_state is not None and top > 0:
            # As the stores' links: `$top` only where the client set one, `$skip` the
            # entities passed (no offset behind the token: the token holds the position).
            continued = replace(
                options,
                top=None if options.top is None else top,
                skip=options.skip + len(values),
                skiptoken=_token(next_state),
            )
            doc["@iot.nextLink"] = f"{links.path(path)}?{query_string(render.options(continued))}"
        doc["value"] = values
        return doc

    async def _merged(
        self, path: ResourcePath, options: QueryOptions, links: Links, failed: Failed
    ) -> dict[str, Any]:
        names = []
        for item in options.orderby:
            if not isinstance(item.expr, Path) or len(item.expr.segments) != 1:
                raise InvalidParameter(
                    "$orderby", "the federated view orders by property names only"
                )
            names.append(
                (
                    "@iot.id" if item.expr.segments[0] in ID_NAMES else item.expr.segments[0],
                    item.descending,
                )
            )
        top = self.top(options)
        window = options.skip + top
        if window > self.settings.max_top:
            raise InvalidParameter(
                "$skip",
                f"with $orderby the federated view pages up to {self.settings.max_top} entities",
            )
        select = options.select
        if select is not None:
            select = (
                *select,
                *((n,) for n, _ in names if (n,) not in select and n != "@iot.id"),
                ("id",),
            )
        ask = replace(
            options, top=window, skip=0, skiptoken=None, count=options.count, select=select
        )
        docs = await asyncio.gather(
            *(self._ask(t, path, for_tenant(ask, t), links, failed) for t in self.order)
        )
        rows = [e for d in docs if d for e in d["value"]]
        rows.sort(key=functools.cmp_to_key(lambda a, b: _compare(a, b, names)))
        page = rows[options.skip : window]
        if select is not None:
            keep = {p[0] for p in options.select or ()} | {"id"}
            page = [
                {k: v for k, v in e.items() if k in keep or "@" in k and k.split("@")[0] in keep}
                for e in page
            ]
        more = len(rows) > window or any(d and d.get("@iot.nextLink") for d in docs)
        counts = [int(d["@iot.count"]) for d in docs if d] if options.count else None
        doc = self._page(path, replace(options, skiptoken=None), links, page, counts, None, top)
        reachable = min(top, self.settings.max_top - window)
        if more and reachable > 0:
            # The merge window is capped; the last reachable page is shortened to fit it.
            # `$top` where the client set one or the window shortens the page (FROST's shape).
            shown = None if options.top is None and reachable == top else reachable
            params = render.options(replace(options, top=shown, skip=window, skiptoken=None))
            head = {k: v for k, v in doc.items() if k != "value"}
            doc = {
                **head,
                "@iot.nextLink": f"{links.path(path)}?{query_string(params)}",
                "value": page,
            }
        elif more and top > 0:
            # No link that would fail: say plainly where the merged order stops.
            doc["@twinbridge.truncated"] = (
                f"with $orderby the federated view reaches the first {self.settings.max_top} "
                "entities; order within a tenant (/{tenant}/sta/v1.1/) to page further"
            )
        return doc


def _without(options: QueryOptions, fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        k: getattr(options, k)
        for k in options.__dataclass_fields__
        if k not in fields and k != "texts"
    }


def _rank(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


def _compare(a: dict, b: dict, names: list[tuple[str, bool]]) -> int:
    for name, descending in [*names, ("@iot.id", False)]:
        x, y = _rank(a.get(name)), _rank(b.get(name))
        if x != y:
            result = -1 if x < y else 1
            return -result if descending else result
    return 0
