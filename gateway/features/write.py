"""OGC API – Features Part 4 (create, replace, update, delete) on tenant collections whose
source can write, through the inverse of the collection's mapping.

The order of the checks is the order of the answers: the collection (404), whether it
takes writes at all (405: federated collections never do), the credential (401/403, by
gateway.access), the body (415, 413, 400), the profile's schema (400 listing every error,
nothing written), the stored item and If-Match (404, 412), the mapping backwards (400
naming the property), then one call to the source under its guard, never retried (409 for
a conflict, 502/504 when the source fails). Every attempt that reaches the credential
check leaves one line in the audit log.

If-Match is compared with the stored item read before the write (a cheap 412 before any
work), and again inside the source's transaction where the connector can (`write_if`:
PostGIS locks the row, a GeoPackage the file; the stored record is mapped and compared,
then written); elsewhere a write landing between check and write is not seen.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.errors import SourceConflict, SourceRejectedValue, SourceStale
from gateway.access import Access, Principal, audit, authorize
from gateway.bodies import read_body
from gateway.catalog import CollectionSource
from gateway.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    InvalidParameter,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    UnsupportedMediaType,
)
from gateway.features import writebody
from gateway.features.itemtags import if_match, item_etag
from gateway.features.routes import Features
from gateway.features.writerouting import READ, SEARCH, WRITE, WriteRoute, replayed
from gateway.mapping.write import InverseMapping, NotWritable, merge_patch

Record = dict[str, Any]
_ITEM = re.compile(r"^(?:/(?P<tenant>[^/]+))?/collections/(?P<cid>[^/]+)/items/.")


@dataclass
class Target:
    source: CollectionSource
    root: str  # the tenant's API root URL
    path: str  # what the audit log names: /{tenant}/collections/{c}/items[/{id}]


class Writes:
    def __init__(self, features: Features) -> None:
        self.features = features
        self.limit = features.settings.max_body_bytes
        self._inverse: dict[str, InverseMapping] = {}

    def routes(self) -> list[Route]:
        """Placed before the read routes: POST on items is a create when its body is a
        Feature, else the CQL2-JSON search of Part 3, which the read route answers."""
        out: list[Route] = []
        for prefix in ("", "/{tenant}"):
            items = f"{prefix}/collections/{{cid}}/items"
            out.append(WriteRoute(items, self.post, methods=["POST"]))
            out.append(WriteRoute(f"{items}/{{fid:path}}", self.change, methods=list(WRITE)))
        return out

    def route_methods(self, path: str) -> tuple[str, ...]:
        """The write methods an item's path takes, for CORS preflights: PUT, PATCH and
        DELETE on a tenant's collection whose source writes, none elsewhere."""
        found = _ITEM.match(path)
        if found is None:
            return ()
        tenant = found["tenant"]
        view = self.features.tenants.get(tenant) if tenant else self.features.root
        return WRITE if view is not None and found["cid"] in view.writable() else ()

    # --- dispatch ----------------------------------------------------------------------

    async def post(self, request: Request) -> Response:
        if request.method != "POST":
            raise MethodNotAllowed(f"{request.method} is not served here", SEARCH)
        media = writebody.media_type(request)
        if media == writebody.GEOJSON:
            return await self._write(request, "create", self._create)
        if media not in ("application/json", ""):
            if media != "application/query-cql-json" and self._takes_writes(request):
                accepted = ", ".join(writebody.FEATURE_MEDIA)
                raise UnsupportedMediaType(f"a new item is one of {accepted}, not '{media}'")
            return await self.features.items(request)  # the search answers its own 400
        body = await read_body(request, self.limit)
        try:
            doc = writebody.parse_json(body)
        except InvalidParameter:
            doc = None
        if isinstance(doc, dict) and doc.get("type") == "Feature":
            return await self._write(request, "create", self._create, doc)
        return await self.features.items(replayed(request, body))

    async def change(self, request: Request) -> Response:
        if request.method not in WRITE:
            allow = (*READ, *WRITE) if self._takes_writes(request) else READ
            raise MethodNotAllowed(f"{request.method} is not served here", allow)
        action = {"PUT": "replace", "PATCH": "update", "DELETE": "delete"}[request.method]
        work = {"replace": self._replace, "update": self._update, "delete": self._delete}
        return await self._write(request, action, work[action])

    async def _write(
        self,
        request: Request,
        action: str,
        work: Callable[[Request, Target, Any], Awaitable[Response]],
        doc: Any = None,
    ) -> Response:
        if getattr(request.state, "origin_may_write", True) is False:  # gateway.web.cors
            raise Forbidden("writes from this page's origin are not allowed here")
        target = await self._target(request)
        principal = self._authorized(request, target, action)
        try:
            response = await work(request, target, doc)
        except GatewayError as e:
            audit(principal, action, target.path, target.source.name, f"{e.status} {e.code}")
            raise
        except Exception:
            audit(principal, action, target.path, target.source.name, "500 error")
            raise
        audit(principal, action, target.path, target.source.name, f"{response.status_code} done")
        return response

    @staticmethod
    def _allowed(request: Request) -> tuple[str, ...]:
        """What a read-only collection serves here: POST on items is the search."""
        return SEARCH if "fid" not in request.path_params else READ

    def _takes_writes(self, request: Request) -> bool:
        try:
            view, _ = self.features.view(request)
            return request.path_params["cid"] in view.writable()
        except GatewayError:
            return False

    async def _target(self, request: Request) -> Target:
        view, root = self.features.view(request)
        c = self.features.collection(view, request)
        if not isinstance(c, CollectionSource):
            raise MethodNotAllowed(
                f"'{c.id}' unites every tenant's collection and is read-only: write to a "
                "tenant's collection",
                self._allowed(request),
            )
        if not c.writable():
            await c.ready()  # a source that failed to open: its 502, not a 405
            if not c.writable():
                raise MethodNotAllowed(f"collection '{c.id}' is read-only", self._allowed(request))
        return Target(c, root, request.url.path)

    @staticmethod
    def _authorized(request: Request, target: Target, action: str) -> Principal:
        try:
            return authorize(request, target.source.tenant, target.source.id, "write")
        except GatewayError as e:
            who = _who(request, target.source.tenant) if e.status == 403 else None
            audit(who, action, target.path, target.source.name, f"{e.status} {e.code}")
            raise

    # --- the four operations -----------------------------------------------------------

    async def _create(self, request: Request, target: Target, doc: Any) -> Response:
        source = target.source
        if doc is None:
            doc = await writebody.read_json(request, self.limit, writebody.FEATURE_MEDIA)
        crs = writebody.content_crs(request, source.storage_crs)
        feature = writebody.feature(doc, crs)
        self._validate(source, feature)
        inverse = await self._inverse_of(source)
        props = feature.get("properties") or {}
        record = self._record(inverse, props, list(props), None, feature)
        if feature.get("id") is not None:
            try:
                record["id"] = inverse.source_id(feature["id"])
            except NotWritable as e:
                raise InvalidParameter(e.prop, e.reason) from None
            if inverse.id_field:
                record["properties"][inverse.id_field] = record["id"]
        new_id = str(await self._call(source, source.connector.create(record)))
        self._written(request, source)
        url = f"{target.root}/collections/{source.id}/items/{quote(new_id, safe='')}"
        headers = {"Location": url}
        created = await source.item(new_id)
        if created is not None:
            headers["ETag"] = item_etag(created)
        return Response(status_code=201, headers=headers)

    async def _replace(self, request: Request, target: Target, doc: Any) -> Response:
        source, fid = target.source, request.path_params["fid"]
        doc = await writebody.read_json(request, self.limit, writebody.FEATURE_MEDIA)
        feature = writebody.feature(doc, writebody.content_crs(request, source.storage_crs))
        if feature.get("id") is not None and str(feature["id"]) != fid:
            raise InvalidParameter("id", f"the body's id '{feature['id']}' is not '{fid}'")
        current = await self._current(source, fid)
        feature["id"] = current.get("id", fid)  # as the item carries it (a number, perhaps)
        self._validate(source, feature)
        base = await self._checked(request, source, fid, current)
        inverse = await self._inverse_of(source)
        props = feature.get("properties") or {}
        names = list(dict.fromkeys([*inverse.writable_names(), *props]))
        record = self._record(inverse, props, names, base, feature)
        action = "replace" if inverse.identity else "update"
        return await self._changed(
            request, source, fid, self._write_call(request, source, action, fid, record)
        )

    async def _update(self, request: Request, target: Target, doc: Any) -> Response:
        source, fid = target.source, request.path_params["fid"]
        patch = await writebody.read_json(request, self.limit, writebody.PATCH_MEDIA)
        crs = writebody.content_crs(request, source.storage_crs)
        patch = writebody.feature(patch, crs, partial=True)
        if patch.get("id") is not None and str(patch["id"]) != fid:
            raise InvalidParameter("id", f"the body's id '{patch['id']}' is not '{fid}'")
        current = await self._current(source, fid)
        merged = merge_patch(current, patch)
        merged["properties"] = merged.get("properties") or {}
        self._validate(source, merged)
        base = await self._checked(request, source, fid, current)
        inverse = await self._inverse_of(source)
        names = list((patch.get("properties") or {}).keys())
        changes = self._record(inverse, merged["properties"], names, base, None)
        if "geometry" in patch:
            changes["geometry"] = patch["geometry"]
        work = self._write_call(request, source, "update", fid, changes)
        return await self._changed(request, source, fid, work)

    async def _delete(self, request: Request, target: Target, doc: Any) -> Response:
        source, fid = target.source, request.path_params["fid"]
        await self._checked(request, source, fid)
        if not await self._call(source, self._write_call(request, source, "delete", fid, None)):
            raise NotFound(f"no item '{fid}' in collection '{source.id}'")
        self._written(request, source)
        return Response(status_code=204)

    # --- shared steps -----------------------------------------------------------------

    @staticmethod
    def _validate(source: CollectionSource, feature: Record) -> None:
        """The profile's schema, before anything is written: every error at once."""
        if source.profile is None:
            return
        shown = {k: v for k, v in feature.items() if k in ("type", "id", "geometry", "properties")}
        shown.setdefault("type", "Feature")
        shown.setdefault("id", "new")  # a created item's id is the source's to give
        errors = source.profile.validate(shown)
        if errors:
            raise InvalidParameter("body", "not valid for the profile: " + "; ".join(errors))

    @staticmethod
    async def _current(source: CollectionSource, fid: str) -> Record:
        """The item as a GET shows it (what its ETag is made of)."""
        current = await source.item(fid)
        if current is None:
            raise NotFound(f"no item '{fid}' in collection '{source.id}'")
        return current

    async def _checked(
        self, request: Request, source: CollectionSource, fid: str, current: Record | None = None
    ) -> Record:
        """The stored record (source fields), after the If-Match check against the item."""
        current = current if current is not None else await self._current(source, fid)
        condition = request.headers.get("if-match")
        if condition is not None and not if_match(condition, current):
            raise PreconditionFailed(
                f"item '{fid}' has changed since the version named in If-Match; read it again"
            )
        record = await self._call(source, source.connector.get(fid))
        if record is None:
            raise NotFound(f"no item '{fid}' in collection '{source.id}'")
        props: Record = record.get("properties") or {}
        return props

    @staticmethod
    def _write_call(
        request: Request, source: CollectionSource, action: str, fid: str, record: Record | None
    ) -> Coroutine[Any, Any, bool]:
        """The connector's call; with If-Match, a source that can check the version inside
        its own transaction (`write_if`, PostGIS) checks it there again, so a write that
        landed after the check above is not overwritten."""
        connector = source.connector
        condition = request.headers.get("if-match")
        write_if = getattr(connector, "write_if", None)
        if condition is not None and write_if is not None:

            def expect(stored: Record) -> bool:
                return if_match(condition, source.mapper(stored))

            return write_if(action, fid, record, expect)  # type: ignore[no-any-return]
        if action == "delete":
            return connector.delete(fid)
        assert record is not None
        call = connector.replace if action == "replace" else connector.update
        return call(fid, record)

    async def _inverse_of(self, source: CollectionSource) -> InverseMapping:
        found = self._inverse.get(source.name)
        if found is None:
            await source.ready()
            found = InverseMapping(source.mapper, source.source_types())
            self._inverse[source.name] = found
        return found

    @staticmethod
    def _record(
        inverse: InverseMapping,
        props: Record,
        names: list[str],
        base: Record | None,
        feature: Record | None,
    ) -> Record:
        try:
            fields = inverse.to_source(props, names, base)
        except NotWritable as e:
            raise InvalidParameter(e.prop, e.reason) from None
        record: Record = {"properties": fields}
        if feature is not None:
            record["geometry"] = feature.get("geometry")
            record["id"] = None
        return record

    async def _changed(
        self, request: Request, source: CollectionSource, fid: str, work: Coroutine[Any, Any, bool]
    ) -> Response:
        if not await self._call(source, work):
            raise NotFound(f"no item '{fid}' in collection '{source.id}'")
        self._written(request, source)
        headers = {}
        changed = await source.item(fid)
        if changed is not None:
            headers["ETag"] = item_etag(changed)
        return Response(status_code=204, headers=headers)

    @staticmethod
    async def _call(source: CollectionSource, work: Coroutine[Any, Any, Any]) -> Any:
        """One call under the source's guard (deadline, breaker, bulkhead; no retry), with
        the client's faults told apart from the source's."""

        async def answered() -> Any:
            try:
                return await work
            except SourceStale as e:
                raise PreconditionFailed(
                    "the item changed since the version named in If-Match; read it again"
                ) from e
            except SourceConflict as e:
                raise Conflict(
                    f"source '{source.name}' refused the write: it conflicts with stored data "
                    "(an id or unique value that exists, or a reference to none)"
                ) from e
            except SourceRejectedValue as e:
                raise InvalidParameter(
                    "body",
                    f"source '{source.name}' refused a value of this feature (a required "
                    "field left empty, a value out of range or of the wrong type)",
                ) from e

        return await source.guard.call(answered())

    @staticmethod
    def _written(request: Request, source: CollectionSource) -> None:
        source.written()
        validators = getattr(request.app.state, "validators", None)
        if validators is not None:
            validators.versions.written(source)


def _who(request: Request, tenant: str) -> Principal | None:
    """Whose valid credential was refused (a 403), for the audit log."""
    try:
        policy: Access = request.app.state.access[tenant]
        return policy.identify(request.headers)
    except (GatewayError, AttributeError, KeyError):
        return None


__all__ = ["Writes"]
