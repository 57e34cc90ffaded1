"""OGC API – Features routes: thin. Read the request, ask the collection, hand the result to
an encoder. The federated root and every tenant share these handlers through ApiView.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.config import ServerSettings
from gateway.errors import NotFound, partial_warning
from gateway.features import documents, jsonfg, openapi, schemas
from gateway.features.cursor import PARAM as CURSOR
from gateway.features.cursor import Cursors
from gateway.features.encoders import (
    StreamedJSON,
    feature_collection,
    html_response,
    json_response,
    negotiate,
)
from gateway.features.filtering import read_filter_body
from gateway.features.items import (
    HTML_LIMIT,
    ITEM_PARAMS,
    STREAM_ABOVE,
    Presentation,
    item_presentation,
    items_request,
)
from gateway.features.itemtags import item_etag, representation
from gateway.features.links import GEOJSON, OPENAPI, base_url
from gateway.features.params import ITEM_FORMATS, parse_format, single_values
from gateway.features.views import ApiView, Collection
from gateway.httpcache.conditions import none_match
from gateway.query.model import PageStream, Query
from gateway.usage.served import counting, served


@dataclass(frozen=True)
class ItemsAnswer:
    """What the members after a streamed page's features are built from."""

    collection: Collection
    root: str
    fmt: str
    values: dict[str, str]
    query: Query
    scope: str  # what the page's cursors are signed for
    presentation: Presentation


def _media_type(fmt: str) -> str:
    return jsonfg.JSONFG if fmt == "jsonfg" else GEOJSON


def _headers(presentation: Presentation) -> dict[str, str]:
    headers = {"Content-Crs": f"<{presentation.content_crs}>"}
    if presentation.jsonfg is not None:
        headers["Link"] = f'<{jsonfg.PROFILE}>; rel="profile"'
    return headers


def _presented(
    fmt: str, c: Collection, root: str, values: dict[str, str], presentation: Presentation
) -> Presentation:
    """A JSON-FG answer also needs to know where its `place` goes and what its type is."""
    if fmt != "jsonfg":
        return presentation
    how = jsonfg.for_request(c, root, "crs" in values, presentation.crs)
    return replace(presentation, jsonfg=how)


async def _nothing() -> AsyncIterator[bytes]:
    """No body (HEAD): the stream is closed unread."""
    return
    yield b""


@dataclass
class Features:
    settings: ServerSettings
    root: ApiView
    tenants: dict[str, ApiView]
    cursors: Cursors

    def view(self, request: Request) -> tuple[ApiView, str]:
        """The view a request addresses, and that view's absolute root URL."""
        tenant = request.path_params.get("tenant")
        base = base_url(request, self.settings)
        if tenant is None:
            return self.root, base
        view = self.tenants.get(tenant)
        if view is None:
            raise NotFound(f"no tenant '{tenant}'")
        return view, f"{base}{view.path}"

    def collection(self, view: ApiView, request: Request) -> Collection:
        cid = request.path_params["cid"]
        found = view.collections.get(cid)
        if found is None:
            raise NotFound(f"no collection '{cid}'")
        return found

    @staticmethod
    def fmt(request: Request, allowed: tuple[str, ...] = ("f",)) -> tuple[str, dict[str, str]]:
        values = single_values(request.query_params, allowed)
        return negotiate(request, parse_format(values.get("f"))), values

    def page(
        self,
        request: Request,
        kind: str,
        doc: dict[str, Any],
        title: str,
        crumbs: list,
        **extra: Any,
    ) -> Response:
        """An HTML page, its stylesheet and scripts under this gateway's public /static."""
        static = f"{base_url(request, self.settings)}/static"
        return html_response(kind, doc, title, crumbs, static=static, extra=extra)

    def respond(
        self,
        request: Request,
        kind: str,
        doc: dict[str, Any],
        fmt: str,
        view: ApiView,
        crumbs: list,
    ) -> Response:
        if fmt == "html":
            return self.page(request, kind, doc, doc.get("title") or view.title, crumbs)
        return json_response(doc)

    @staticmethod
    def crumbs(view: ApiView, root: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
        return [(view.title, f"{root}/"), *extra]

    async def landing(self, request: Request) -> Response:
        view, root = self.view(request)
        fmt, _ = self.fmt(request)
        doc = documents.landing(view, root, fmt)
        return self.respond(request, "landing", doc, fmt, view, self.crumbs(view, root))

    async def conformance(self, request: Request) -> Response:
        view, root = self.view(request)
        fmt, _ = self.fmt(request)
        crumbs = self.crumbs(view, root, ("Conformance", f"{root}/conformance"))
        doc = documents.conformance_doc(root, fmt, bool(view.writable()))
        return self.respond(request, "conformance", doc, fmt, view, crumbs)

    async def collections(self, request: Request) -> Response:
        view, root = self.view(request)
        fmt, _ = self.fmt(request)
        crumbs = self.crumbs(view, root, ("Collections", f"{root}/collections"))
        doc = documents.collections(view, root, fmt)
        return self.respond(request, "collections", {**doc, "title": view.title}, fmt, view, crumbs)

    def _collection_crumbs(self, view: ApiView, root: str, c: Collection) -> list:
        return self.crumbs(
            view,
            root,
            ("Collections", f"{root}/collections"),
            (c.title, f"{root}/collections/{c.id}"),
        )

    async def collection_page(self, request: Request) -> Response:
        view, root = self.view(request)
        c = self.collection(view, request)
        fmt, _ = self.fmt(request)
        doc = documents.collection(c, root, fmt, base=documents.view_base(view, root))
        crumbs = self._collection_crumbs(view, root, c)
        return self.respond(request, "collection", doc, fmt, view, crumbs)

    async def items(self, request: Request) -> Response:
        view, root = self.view(request)
        c = self.collection(view, request)
        values = single_values(request.query_params, None)
        fmt = negotiate(request, parse_format(values.get("f"), ITEM_FORMATS), ITEM_FORMATS)
        if fmt == "html":  # the page's GET form sends its empty fields: they mean "any"
            values = {name: value for name, value in values.items() if value}
        body = (
            await read_filter_body(request, self.settings.max_body_bytes)
            if request.method == "POST"
            else None
        )
        query, presentation = items_request(values, c, self.settings, body)
        presentation = _presented(fmt, c, root, values, presentation)
        scope = f"{view.path}/collections/{c.id}"
        if CURSOR in values:
            query = self.cursors.apply(scope, query, values[CURSOR])
        if fmt == "html":
            query = replace(query, limit=min(query.limit, HTML_LIMIT))
        elif query.limit > STREAM_ABOVE:
            page = await c.stream(query)
            answer = ItemsAnswer(c, root, fmt, values, query, scope, presentation)
            return self._streamed(request, answer, page)
        page = await c.items(query)
        page.features = presentation.apply(page.features)
        served(request.scope, len(page.features))
        cursor = None
        if page.has_next and page.resume is not None:
            cursor = self.cursors.issue(scope, query, query.offset + query.limit, page.resume)
        doc = documents.items(
            c, root, fmt, values, page, query.offset, query.limit, cursor, presentation.jsonfg
        )
        headers = _headers(presentation)
        if page.failed_sources:
            headers["Warning"] = partial_warning(page.failed_sources)
        if fmt == "html":
            crumbs = self._collection_crumbs(view, root, c) + [
                ("Items", f"{root}/collections/{c.id}/items")
            ]
            doc = {**doc, "title": c.title, "html_limit": HTML_LIMIT}
            url = f"{root}/collections/{c.id}/queryables"
            queryables = schemas.queryables(c, url)["properties"]
            extra = {"crs": presentation.crs, "queryables": queryables, "html_limit": HTML_LIMIT}
            response = self.page(request, "items", doc, c.title, crumbs, **extra)
            response.headers.update(headers)
            return response
        return json_response(doc, _media_type(fmt), **headers)

    def _streamed(self, request: Request, answer: ItemsAnswer, page: PageStream) -> Response:
        """A large page written as it streams; its links and numberReturned go last."""
        presentation = answer.presentation
        media_type = _media_type(answer.fmt)
        headers = _headers(presentation)
        if page.failed_sources:  # known before the first byte; later ones are in the body
            headers["Warning"] = partial_warning(page.failed_sources)
        if request.method == "HEAD":
            return StreamedJSON(_nothing(), page.aclose, media_type=media_type, headers=headers)
        query = answer.query

        def tail(returned: int) -> dict[str, Any]:
            cursor = None
            if page.has_next and page.resume is not None:
                offset = query.offset + query.limit
                cursor = self.cursors.issue(answer.scope, query, offset, page.resume)
            return documents.items_tail(
                answer.collection,
                answer.root,
                answer.fmt,
                answer.values,
                page,
                returned,
                query.offset,
                query.limit,
                cursor,
            )

        how = presentation.jsonfg
        head = how.collection_members() if how is not None else None
        present = counting(request.scope, presentation.apply)
        body = feature_collection(page.batches(), present, tail, head)
        return StreamedJSON(body, page.aclose, media_type=media_type, headers=headers)

    async def schema_doc(self, request: Request) -> Response:
        view, root = self.view(request)
        c = self.collection(view, request)
        fmt, _ = self.fmt(request)
        kind = request.url.path.rsplit("/", 1)[-1]
        url = f"{root}/collections/{c.id}/{kind}"
        doc = getattr(schemas, kind)(c, url)
        if fmt == "html":
            crumbs = self._collection_crumbs(view, root, c) + [(kind.title(), url)]
            return self.page(request, "queryables", doc, doc["title"], crumbs)
        return json_response(doc, schemas.SCHEMA_JSON)

    async def item(self, request: Request) -> Response:
        view, root = self.view(request)
        c = self.collection(view, request)
        fid = request.path_params["fid"]
        values = single_values(request.query_params, ITEM_PARAMS)
        fmt = negotiate(request, parse_format(values.get("f"), ITEM_FORMATS), ITEM_FORMATS)
        presentation = _presented(fmt, c, root, values, item_presentation(values, c))
        feature = await c.item(fid)
        if feature is None:
            raise NotFound(f"no item '{fid}' in collection '{c.id}'")
        shown = presentation.apply([feature])[0]
        served(request.scope, 1)
        p = presentation
        etag = item_etag(feature, representation(fmt, p.crs, p.properties, p.skip_geometry))
        if none_match(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers={"ETag": etag})
        doc = documents.item(c, root, fmt, shown, presentation.jsonfg)
        if fmt == "html":
            crumbs = self._collection_crumbs(view, root, c) + [
                ("Items", f"{root}/collections/{c.id}/items"),
                (str(fid), f"{root}/collections/{c.id}/items/{fid}"),
            ]
            page = self.page(request, "item", doc, f"{c.title}: {fid}", crumbs, crs=p.crs)
            page.headers["ETag"] = etag
            return page
        return json_response(doc, _media_type(fmt), **_headers(presentation), ETag=etag)

    async def api(self, request: Request) -> Response:
        view, root = self.view(request)
        fmt, _ = self.fmt(request)
        doc = openapi.document(view, root, self.settings)
        if fmt == "html":
            return self.page(request, "api", doc, f"{view.title}: API", self.crumbs(view, root))
        return json_response(doc, OPENAPI)

    async def api_html(self, request: Request) -> Response:
        view, root = self.view(request)
        single_values(request.query_params, ())
        doc = openapi.document(view, root, self.settings)
        return self.page(request, "api", doc, f"{view.title}: API", self.crumbs(view, root))

    async def tenant_slash(self, request: Request) -> Response:
        _, root = self.view(request)
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{root}/{query}", status_code=308)

    def item_routes(self) -> list[Route]:
        """Items and single items, federated and per tenant: most requests are these, and
        the router tries routes in order. Their literal `collections` segment keeps them
        apart from every other route."""
        routes = []
        for prefix in ("", "/{tenant}"):
            items = f"{prefix}/collections/{{cid}}/items"
            routes.append(Route(items, self.items, methods=["GET", "HEAD", "POST"]))
            routes.append(Route(f"{items}/{{fid:path}}", self.item, methods=["GET", "HEAD"]))
        return routes

    def routes(self) -> list[Route]:
        """Every other page: the landing pages, conformance, collections, schemas, API."""
        pages = [
            ("/", self.landing),
            ("/conformance", self.conformance),
            ("/collections", self.collections),
            ("/collections/{cid}", self.collection_page),
            ("/collections/{cid}/queryables", self.schema_doc),
            ("/collections/{cid}/sortables", self.schema_doc),
            ("/collections/{cid}/schema", self.schema_doc),
            ("/api", self.api),
            ("/api.html", self.api_html),
        ]
        routes = [Route(path, handler, methods=["GET", "HEAD"]) for path, handler in pages]
        routes.append(Route("/{tenant}", self.tenant_slash, methods=["GET", "HEAD"]))
        routes += [
            Route(f"/{{tenant}}{path}", handler, methods=["GET", "HEAD"]) for path, handler in pages
        ]
        return routes
