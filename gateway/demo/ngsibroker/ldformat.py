"""How the NGSI-LD test broker writes entities: names compacted into the request's @context,
in the representation asked for (4.5: normalized, concise, keyValues a.k.a. simplified),
system attributes (`createdAt`, `modifiedAt`) only with `options=sysAttrs`.

Content negotiation (6.3.5/6.3.6): `Accept: application/ld+json` puts the `@context` into
the body; `application/json` (the default) sends it as a JSON-LD `Link` header instead.
"""

from __future__ import annotations

from typing import Any

from gateway.demo.ngsibroker.ldcontext import Context
from gateway.demo.ngsibroker.ldstore import ATTRIBUTE_META, LdError, attributes

REPRESENTATIONS = ("normalized", "concise", "keyValues")
CORE_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld"
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
SYSTEM = ("createdAt", "modifiedAt")


def options(raw_options: str | None, raw_format: str | None) -> tuple[str, bool]:
    """`options=keyValues,sysAttrs` / `format=concise` -> (representation, sysAttrs)."""
    words = [w for w in (raw_options or "").split(",") if w]
    known = {*REPRESENTATIONS, "simplified", "sysAttrs", "temporalValues", "count"}
    unknown = [w for w in words if w not in known]
    if unknown:
        raise LdError(400, "BadRequestData", f"unknown option '{unknown[0][:40]}'")
    chosen = [w for w in words if w in (*REPRESENTATIONS, "simplified")]
    if raw_format is not None:
        if raw_format not in (*REPRESENTATIONS, "simplified"):
            raise LdError(400, "BadRequestData", f"unknown format '{raw_format[:40]}'")
        chosen.append(raw_format)
    if len(set(chosen)) > 1:
        raise LdError(400, "BadRequestData", "options and format ask for two representations")
    representation = chosen[0] if chosen else "normalized"
    return ("keyValues" if representation == "simplified" else representation), (
        "sysAttrs" in words
    )


def entity(
    stored: dict[str, Any],
    ctx: Context,
    representation: str = "normalized",
    *,
    attrs: set[str] | None = None,
    sys_attrs: bool = False,
) -> dict[str, Any]:
    """One stored entity as the client reads it (`attrs`: expanded names to keep)."""
    kind = stored["type"]
    out: dict[str, Any] = {
        "id": stored["id"],
        "type": [ctx.compact(k) for k in kind] if isinstance(kind, list) else ctx.compact(kind),
    }
    for name, attr in attributes(stored):
        if attrs is not None and name not in attrs:
            continue
        out[ctx.compact(name)] = attribute(attr, ctx, representation, sys_attrs)
    if sys_attrs:
        out.update({k: stored[k] for k in SYSTEM if k in stored})
    return out


def attribute(attr: Any, ctx: Context, representation: str, sys_attrs: bool) -> Any:
    if isinstance(attr, list):
        if representation == "keyValues":
            return attribute(attr[0], ctx, representation, sys_attrs)
        return [attribute(a, ctx, representation, sys_attrs) for a in attr]
    if representation == "keyValues":
        return attr.get("object", attr.get("value"))
    out: dict[str, Any] = {}
    for key, item in attr.items():
        if key in SYSTEM and not sys_attrs:
            continue
        if key in ATTRIBUTE_META:
            out[key] = item
        else:
            out[ctx.compact(key)] = attribute(item, ctx, representation, sys_attrs)
    if representation == "concise":
        out.pop("type", None)
        if list(out) == ["value"]:
            return out["value"]
    return out


def feature(entity: dict[str, Any], geometry_property: str) -> dict[str, Any]:
    """An entity (as rendered) as a GeoJSON Feature (6.3.15, 4.5.16): `geometry` from the
    GeoProperty named, null without one; every attribute and the type in `properties`."""
    attr = entity.get(geometry_property)
    if isinstance(attr, list):
        attr = attr[0] if attr else None
    value = (
        attr.get("value", attr) if isinstance(attr, dict) and "coordinates" not in attr else attr
    )
    geometry = value if isinstance(value, dict) and "coordinates" in value else None
    properties = {k: v for k, v in entity.items() if k not in ("id", "@context")}
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}


def wants_geojson(accept: str | None) -> bool:
    return bool(accept) and "application/geo+json" in (accept or "")


def wants_ld(accept: str | None) -> bool:
    """True when the client asks for application/ld+json (then @context goes in the body)."""
    return bool(accept) and "application/ld+json" in (accept or "")


def context_value(ctx: Context) -> Any:
    """The @context to give back: the one the request named, else the core context."""
    return ctx.url or CORE_URL


def link_header(ctx: Context) -> str:
    return f"<{context_value(ctx)}>; {LINK_REL}"


__all__ = [
    "attribute",
    "context_value",
    "entity",
    "feature",
    "link_header",
    "options",
    "wants_geojson",
    "wants_ld",
]
