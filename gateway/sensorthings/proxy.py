"""An upstream SensorThings server (FROST-Server, istSOS, another TwinBridge) proxied live.

The request is parsed and validated by our own parser and bound to the entity model (so
a bad query is our 400, never the upstream's problem), then re-serialised from the tree
and sent to the configured upstream only: no URL from a request is ever fetched. Answers
are rewritten: every selfLink, navigationLink and nextLink points back to the gateway
(nextLinks keep the upstream's continuation parameters, `$skip`, `$skiptoken` or
`$skipFilter`, which our parser validates again when the client follows them; their `$top`
is the client's, and an expanded set whose own `$top` is met has none), and ids
take the view's form (namespaced in the federated view). Links that do not lead to the
upstream are dropped. Upstream errors become 4xx with the upstream's message; failures
(connections, 5xx, garbage, a slow drip) are raised as connector errors, which the
tenant's guard answers 502/504 by its deadline and counts against its breaker. The proxy
is read-only.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from connectors.errors import SourceError
from connectors.remote.http import HttpAnswer, HttpEndpoint
from gateway.errors import GatewayError, InvalidParameter, NotFound
from gateway.sensorthings.config import StaServerSettings, TenantSensorThings
from gateway.sensorthings.encode import Links
from gateway.sensorthings.odata import bind, render
from gateway.sensorthings.odata.options import QueryOptions, parse_options
from gateway.sensorthings.paths import ResourcePath, parse_path
from gateway.sensorthings.store.read import RawValue, query_string

log = logging.getLogger("twinbridge.sensorthings.proxy")
CONTINUATION = ("$skip", "$skiptoken", "$skipFilter", "$top")


class UpstreamService:
    writable = False
    multi_datastream = True
    api_key_env = None

    def __init__(self, tenant: str, cfg: TenantSensorThings, settings: StaServerSettings) -> None:
        assert cfg.upstream is not None
        self.tenant = tenant
        self.cfg = cfg
        self.settings = settings
        self.upstream = cfg.upstream.url.rstrip("/")
        self.source = f"{tenant}/sta"
        self.endpoint = HttpEndpoint(self.upstream, cfg.upstream, name=self.source)

    @property
    def title(self) -> str:
        return self.cfg.title or self.tenant

    async def open(self) -> None:
        await self.endpoint.open()

    async def close(self) -> None:
        await self.endpoint.close()

    def top(self, options: QueryOptions) -> int:
        return min(
            self.settings.default_top if options.top is None else options.top, self.settings.max_top
        )

    def upstream_url(self, path: ResourcePath, options: QueryOptions) -> str:
        url = f"{self.upstream}/{path.text(for_url=True)}"
        if path.is_collection:
            params = render.options(options, top=self.top(options))
        else:
            params = {
                k: v for k, v in render.options(options).items() if k in ("$select", "$expand")
            }
        return f"{url}?{query_string(params)}" if params else url

    async def get(self, path: ResourcePath, options: QueryOptions, links: Links) -> Any:
        if path.segments and path.member is None:
            bind.check(path.type, options)
        answer = await self._fetch(self.upstream_url(path, options))
        if path.value:
            return RawValue(
                answer.content.decode("utf-8", "replace") if answer.status != 204 else None
            )
        try:
            doc = orjson.loads(answer.content)
        except orjson.JSONDecodeError:
            raise SourceError(
                f"{self.source}: the upstream answered with something not JSON"
            ) from None
        return self.relink(doc, links, options)

    async def _fetch(self, url: str) -> HttpAnswer:
        """The upstream's answer; its errors as the gateway's (the guard around `get` turns
        SourceError into 502/504 and keeps the breaker)."""
        answer = await self.endpoint.get(url)
        if answer.status == 404:
            raise NotFound(_message(answer.content) or "not found upstream")
        if answer.status >= 400:
            raise UpstreamRefused(answer.status, _message(answer.content) or "refused upstream")
        if answer.status >= 300:
            raise SourceError(
                f"{self.source}: the upstream answered {answer.status} (not followed)"
            )
        return answer

    # -- rewriting --------------------------------------------------------------------
    def relink(self, node: Any, links: Links, options: QueryOptions) -> Any:
        """`node` with the gateway's links; `options` are the client's for its level (a
        nextLink's `$top` becomes the client's, and an expanded set whose own `$top` is met
        loses the nextLink FROST gives it, as our store's sets have none)."""
        if isinstance(node, list):
            return [self.relink(v, links, options) for v in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "@iot.id" and isinstance(value, int | str):
                out[key] = links.key(value)
            elif key.endswith(("@iot.selfLink", "@iot.navigationLink", "@iot.nextLink")):
                rewritten = self._relinked(key, value, links, options)
                if rewritten is not None:
                    out[key] = rewritten
            elif key == "value":  # a page: its entities are at this level
                out[key] = self.relink(value, links, options)
            elif key[:1].isupper():  # an expanded entity or set: its own options
                out[key] = self.relink(value, links, _expanded(options, key))
            else:  # properties are data: JSON members named like links stay as they are
                out[key] = value
        return out

    def _relinked(self, key: str, value: Any, links: Links, options: QueryOptions) -> str | None:
        if not isinstance(value, str):
            return None
        if not key.endswith("@iot.nextLink"):
            return self.link(value, links)
        if key != "@iot.nextLink":  # an expanded set's
            options = _expanded(options, key.removesuffix("@iot.nextLink"))
            if options.top is not None and options.top <= self.settings.max_top:
                return None
        top = None if options.top is None else self.top(options)
        return self.link(value, links, top=top, paged=True)

    def link(
        self, url: str, links: Links, top: int | None = None, paged: bool = False
    ) -> str | None:
        """An upstream URL as the gateway's URL; None when it does not lead upstream. A
        nextLink (`paged`) carries the client's `top` (or none): we ask upstream for our
        page size, which the client did not set."""
        if not url.startswith(self.upstream + "/") and url != self.upstream:
            return None
        parts = urlsplit(url[len(self.upstream) :])
        try:
            path = parse_path(parts.path.lstrip("/"))
        except GatewayError:
            return None
        target = links.path(path)
        if not parts.query:
            return target
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if paged:
            pairs = [(k, v) for k, v in pairs if k != "$top"]
            pairs = ([("$top", str(top))] if top is not None else []) + pairs
        try:
            parse_options(pairs)  # only what our parser accepts goes into our links
        except GatewayError:
            pairs = [(k, v) for k, v in pairs if k in CONTINUATION]
        return f"{target}?{query_string(dict(pairs))}" if pairs else target


def _expanded(options: QueryOptions, rel: str) -> QueryOptions:
    """The options of expanded `rel` (none when it was not asked for by name)."""
    return next((e.options for e in options.expand if e.rel == rel), QueryOptions())


class UpstreamRefused(InvalidParameter):
    """The upstream refused a request we considered valid (e.g. a function it lacks)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__("upstream", message)
        self.status = status if status in (400, 401, 403, 405, 409, 501) else 400


def _message(content: bytes) -> str | None:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    if isinstance(body, dict):
        message = body.get("message") or body.get("description")
        return str(message)[:500] if message else None
    return None
