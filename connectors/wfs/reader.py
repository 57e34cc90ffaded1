"""Running a SourceQuery against a WFS: the GetFeature request, paging, the exact bbox."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import shapely

from connectors.base import Record, SourceQuery
from connectors.crs import bbox_from_crs84, bbox_geometry, split_bbox
from connectors.errors import SourceError
from connectors.remote.http import HttpEndpoint, HttpStream
from connectors.remote.xml import XMLRejected, ows_exception_text, parse_xml
from connectors.wfs import metadata
from connectors.wfs.gmlgeom import srs_axes
from connectors.wfs.pages import Layout, records
from connectors.wfs.request import GetFeature, and_bbox, kvp_url, xml_body
from connectors.wfs.service import FeatureType, Schema, ServiceInfo, choose_format

if TYPE_CHECKING:
    from connectors.wfs import WFSConfig

_PAGING_ROOM = 40  # characters "&COUNT=…&STARTINDEX=…" may take at most
_ACCEPT = {
    "geojson": "application/geo+json, application/json;q=0.9, */*;q=0.1",
    "gml": "application/gml+xml, text/xml;q=0.9, */*;q=0.1",
}


@dataclass(frozen=True)
class Target:
    """One feature type of one WFS, with what its metadata says about it."""

    name: str  # the source's, for messages
    config: WFSConfig
    service: ServiceInfo
    feature_type: FeatureType
    schema: Schema

    @property
    def srs(self) -> str:
        """The CRS asked for: the configured one, else the feature type's DefaultCRS."""
        crs = self.feature_type.crs
        return self.config.srs_name or (crs[0] if crs else "EPSG:4326")


@dataclass(frozen=True)
class Plan:
    request: GetFeature  # without COUNT/STARTINDEX
    layout: Layout
    limit: int | None
    offset: int  # features to skip upstream (STARTINDEX)
    skip: int  # features to skip here (after the exact bbox test)
    within: Any  # CRS84 shapely geometry every record must intersect, or None
    page_size: int
    paging: bool  # the server implements STARTINDEX

    @classmethod
    def make(cls, target: Target, q: SourceQuery) -> Plan:
        config, service, feature_type, schema = (
            target.config,
            target.service,
            target.feature_type,
            target.schema,
        )
        srs = target.srs
        try:
            kind, output_format = choose_format(feature_type.output_formats, config.output_format)
        except ValueError as e:
            raise SourceError(f"{target.name}: {e}") from e
        request = GetFeature(
            type_name=feature_type.name,
            srs_name=srs,
            output_format=output_format,
            namespaces=_namespaces(feature_type.name, schema),
        )
        if q.filter is not None:
            request = replace(
                request, filter_xml=metadata.render_filter(service, schema, srs, q.filter)
            )
        within = None
        if q.bbox is not None:
            request, within = _with_bbox(request, q.bbox, schema, srs)
        if q.sortby:
            sortby = ",".join(f"{n} {'ASC' if asc else 'DESC'}" for n, asc in q.sortby)
            request = replace(request, sortby=sortby)
        page_size = min(config.page_size, service.count_default or config.page_size)
        paging = "ImplementsResultPaging" in service.constraints
        local = within is not None or not paging
        layout = Layout(
            source=target.name,
            kind=kind,
            crs=srs,
            fields=schema.types,
            geometry_name=schema.geometry_name,
            id_field=config.id_field,
            empty_is_null=config.empty_is_null,
        )
        return cls(
            request=request,
            layout=layout,
            limit=q.limit,
            offset=0 if local else q.offset,
            skip=q.offset if local else 0,
            within=within,
            page_size=page_size,
            paging=paging,
        )

    def with_request(self, **changes: Any) -> Plan:
        return replace(self, request=replace(self.request, **changes))


def _namespaces(type_name: str, schema: Schema) -> dict[str, str]:
    prefix, _, local = type_name.rpartition(":")
    return {prefix: schema.namespace} if prefix and local and schema.namespace else {}


def _with_bbox(
    request: GetFeature, bbox: tuple[float, float, float, float], schema: Schema, srs: str
) -> tuple[GetFeature, Any]:
    """The request with a search envelope in `srs` (BBOX, or inside the filter), and the
    CRS84 area the records are then tested against here."""
    within = bbox_geometry(bbox)
    crs, lat_first = srs_axes(srs)
    boxes = [bbox_from_crs84(part, crs) for part in split_bbox(bbox)]
    if len(boxes) != 1 or boxes[0] is None or schema.geometry_name is None:
        return request, within  # no single envelope: the exact test alone selects
    minx, miny, maxx, maxy = boxes[0]
    envelope = (miny, minx, maxy, maxx) if lat_first else (minx, miny, maxx, maxy)
    if request.filter_xml is None:
        return replace(request, bbox=envelope, geometry_name=schema.geometry_name), within
    combined = and_bbox(request.filter_xml, schema.geometry_name, envelope, srs)
    return replace(request, filter_xml=combined), within


@contextlib.asynccontextmanager
async def send(
    endpoint: HttpEndpoint, request: GetFeature, accept: str
) -> AsyncIterator[HttpStream]:
    """GET the request as KVP, or POST it as XML when the URL would be too long."""
    url = kvp_url(endpoint.base, request)
    headers = {"Accept": accept}
    # room for any STARTINDEX/COUNT: all pages of a query go the same way (MapServer orders
    # a POSTed query otherwise than the same one as KVP)
    if len(url) + _PAGING_ROOM <= endpoint.settings.max_url_length:
        async with endpoint.stream(url, headers=headers) as answer:
            yield answer
        return
    post = {**headers, "Content-Type": "application/xml"}
    async with endpoint.stream(endpoint.base, headers=post, content=xml_body(request)) as answer:
        yield answer


async def hits(endpoint: HttpEndpoint, plan: Plan) -> int | None:
    """numberMatched from a resultType=hits request; None when the server does not know."""
    request = replace(plan.request, hits=True)
    async with send(endpoint, request, "application/xml, text/xml") as answer:
        body = await answer.read()
    try:
        root = parse_xml(body)
    except XMLRejected as e:
        raise SourceError(f"{endpoint.name}: unreadable hits answer: {e}") from e
    text = ows_exception_text(root)
    if text is not None:
        raise SourceError(f"{endpoint.name}: the WFS answered with an exception: {text}")
    matched = (root.get("numberMatched") or "").strip()
    return int(matched) if matched.isdigit() else None


async def pages(endpoint: HttpEndpoint, plan: Plan) -> AsyncIterator[Record]:
    """The records of consecutive upstream pages until the limit or the end."""
    wanted = None if plan.limit is None else plan.limit + plan.skip  # matching records
    start, seen, taken = plan.offset, 0, 0
    while True:
        if not plan.paging:
            count = wanted  # one request (None: everything)
        elif wanted is None or plan.within is not None:
            count = plan.page_size
        else:
            count = min(plan.page_size, wanted - seen)
        request = plan.request.page(start if plan.paging else 0, count)
        received = 0
        async with send(endpoint, request, _ACCEPT[plan.layout.kind]) as answer:
            async for record in records(answer, plan.layout):
                received += 1
                if plan.within is not None and not _inside(record, plan.within):
                    continue
                seen += 1
                if seen <= plan.skip:
                    continue
                yield record
                taken += 1
                if plan.limit is not None and taken >= plan.limit:
                    return
        if not plan.paging or count is None or received < count:
            return
        start += received


def _inside(record: Record, area: Any) -> bool:
    geometry = record["geometry"]
    if geometry is None:
        return False
    return bool(shapely.intersects(shapely.geometry.shape(geometry), area))


__all__ = ["Plan", "Target", "hits", "pages", "send"]
