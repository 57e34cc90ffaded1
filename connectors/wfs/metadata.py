"""Fetching a WFS's capabilities and schema, and what the connector derives from them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from connectors.base import FieldInfo, FieldType
from connectors.errors import SourceError
from connectors.remote.http import HttpEndpoint
from connectors.remote.xml import XMLRejected, ows_exception_text, parse_xml
from connectors.wfs.gmlgeom import srs_axes
from connectors.wfs.service import (
    FeatureType,
    Schema,
    ServiceInfo,
    choose_format,
    parse_capabilities,
    parse_schema,
)

if TYPE_CHECKING:
    from connectors.wfs import WFSConfig

XML_ACCEPT = {"Accept": "application/xml, text/xml;q=0.9, */*;q=0.1"}


def service_url(base: str, **params: str) -> str:
    from urllib.parse import quote, urlencode

    joiner = "&" if "?" in base else "?"
    return base + joiner + urlencode({"SERVICE": "WFS", **params}, quote_via=quote, safe=":")


async def _document(endpoint: HttpEndpoint, url: str, what: str) -> tuple[Any, bytes]:
    async with endpoint.stream(url, headers=XML_ACCEPT) as answer:
        body = await answer.read()
    try:
        root = parse_xml(body)
    except XMLRejected as e:
        raise SourceError(f"{endpoint.name}: the {what} could not be read: {e}") from e
    text = ows_exception_text(root)
    if text is not None:
        raise SourceError(f"{endpoint.name}: the WFS answered the {what} with: {text}")
    if answer.status >= 400:
        raise SourceError(f"{endpoint.name}: the WFS answered the {what} with {answer.status}")
    return root, body


async def capabilities(endpoint: HttpEndpoint, base: str) -> ServiceInfo:
    url = service_url(base, REQUEST="GetCapabilities", ACCEPTVERSIONS="2.0.0")
    root, body = await _document(endpoint, url, "GetCapabilities request")
    try:
        return parse_capabilities(root, body, base)
    except Exception as e:  # OWSLib raises what it likes on documents it does not expect
        raise SourceError(f"{endpoint.name}: unreadable WFS 2.0 capabilities: {e}") from e


async def schema(endpoint: HttpEndpoint, type_name: str) -> Schema:
    url = service_url(
        endpoint.base, REQUEST="DescribeFeatureType", VERSION="2.0.0", TYPENAMES=type_name
    )
    root, _ = await _document(endpoint, url, "DescribeFeatureType request")
    try:
        return parse_schema(root, type_name)
    except ValueError as e:
        raise SourceError(f"{endpoint.name}: unusable DescribeFeatureType: {e}") from e


def with_types(schema: Schema, overrides: Mapping[str, FieldType]) -> Schema:
    if not overrides:
        return schema
    fields = tuple(FieldInfo(f.name, overrides.get(f.name, f.type), f.title) for f in schema.fields)
    return replace(schema, fields=fields, types={f.name: f.type for f in fields})


def _fes() -> Any:
    try:
        from connectors.wfs import fes
    except ImportError:  # fes.py not merged yet: nothing is pushed down
        return None
    return fes


def filter_test(service: ServiceInfo, schema: Schema, crs: str | None) -> Callable[[Any], bool]:
    """The planner's test for a filter subtree (nothing when the server declares nothing)."""
    fes = _fes()
    caps = service.filter_capabilities
    if fes is None or caps is None or schema.geometry_name is None:
        return lambda expr: False
    return fes.pushable(caps, schema.types, storage_crs=crs)


def render_filter(service: ServiceInfo, schema: Schema, crs: str, expr: Any) -> str:
    fes = _fes()
    if fes is None or schema.geometry_name is None:
        raise SourceError("a filter was pushed to a WFS source that cannot render it")
    return fes.render_filter(
        expr,
        geometry_name=schema.geometry_name,
        crs=crs,
        caps=service.filter_capabilities,
        types=schema.types,
        storage_crs=crs,
    )


def problems(config: WFSConfig, feature_type: FeatureType, schema: Schema) -> list[str]:
    """Mismatches between the `source:` block and what the WFS declares."""
    found = []
    names = {f.name for f in schema.fields}
    if config.id_field is not None and config.id_field not in names:
        found.append(
            f"id_field '{config.id_field}' is not a property of {feature_type.name} "
            f"(it has: {', '.join(sorted(names))})"
        )
    for name in config.field_types:
        if name not in names:
            found.append(f"field_types names '{name}', not a property of {feature_type.name}")
    if config.srs_name is not None:
        offered = {_crs(c) for c in feature_type.crs}
        if _crs(config.srs_name) not in offered:
            found.append(
                f"srs_name {config.srs_name} is not offered for {feature_type.name} "
                f"(offered: {', '.join(feature_type.crs)})"
            )
    try:
        choose_format(feature_type.output_formats, config.output_format)
    except ValueError as e:
        found.append(f"{feature_type.name}: {e}")
    if schema.geometry_name is None:
        found.append(f"{feature_type.name} has no geometry property in its schema")
    return found


def _crs(name: str) -> str | None:
    try:
        return srs_axes(name)[0]
    except ValueError:
        return None


__all__ = [
    "capabilities",
    "filter_test",
    "problems",
    "render_filter",
    "schema",
    "service_url",
    "with_types",
]
