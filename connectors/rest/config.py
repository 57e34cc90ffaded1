"""The `rest` connector's configuration: one YAML block describes a proprietary JSON API.

Every key is checked at start-up, so a typo in a path, a paging style missing its
parameter or a template naming an undeclared parameter is a config error naming the key,
not a 502 at the first request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors import paths
from connectors.base import ConnectorConfig
from connectors.crs import crs_uri
from connectors.remote.http import HttpSettings

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
PagingStyle = Literal["offset", "page", "next_link", "link_header", "cursor", "none"]
PushOp = Literal["eq", "in", "gte", "lte"]


def fill(template: str, values: Mapping[str, str]) -> str:
    """`{name}` placeholders replaced by their values, each percent-encoded as one segment."""
    return PLACEHOLDER.sub(lambda m: quote(values[m.group(1)], safe=""), template)


def folder(url: str) -> str:
    """A URL's scheme, host and path up to its last '/' (the host alone for a bare host)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}"


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _path(value: str | None) -> str | None:
    if value:
        paths.parse(value)  # a PathError (a ValueError) names the path and the position
    return value


class Paging(_Block):
    """How the API pages; the parameter names are the API's own."""

    style: PagingStyle = Field(
        "offset",
        description="'offset': offset/limit parameters; 'page': page/size parameters; "
        "'next_link': a next URL in the body (`next_path`); 'link_header': a `Link` header "
        "with rel=next; 'cursor': a cursor in the body (`cursor_path`) sent back as "
        "`cursor_param`; 'none': one request returns everything.",
    )
    offset_param: str = Field("offset", description="'offset' style: the offset parameter.")
    limit_param: str | None = Field(
        "limit",
        description="Parameter taking the page size ('offset' style; with the link and cursor "
        "styles sent on the first request when set). Null: never sent.",
    )
    page_param: str = Field("page", description="'page' style: the page number parameter.")
    size_param: str = Field("size", description="'page' style: the page size parameter.")
    first_page: Literal[0, 1] = Field(1, description="'page' style: number of the first page.")
    next_path: str | None = Field(
        None, description="'next_link' style: path of the next page's URL in the body."
    )
    cursor_path: str | None = Field(
        None, description="'cursor' style: path of the next page's cursor in the body."
    )
    cursor_param: str = Field("cursor", description="'cursor' style: the cursor parameter.")

    @field_validator("next_path", "cursor_path")
    @classmethod
    def _valid_paths(cls, value: str | None) -> str | None:
        return _path(value)

    @model_validator(mode="after")
    def _style_needs(self) -> Paging:
        if self.style == "next_link" and not self.next_path:
            raise ValueError("paging style 'next_link' needs `next_path`")
        if self.style == "cursor" and not self.cursor_path:
            raise ValueError("paging style 'cursor' needs `cursor_path`")
        return self


class Geometry(_Block):
    """Where a record's location is: one of `geojson`, `lon` + `lat`, or `wkt`."""

    geojson: str | None = Field(None, description="Path of a GeoJSON geometry object.")
    lon: str | None = Field(None, description="Path of the longitude (or easting, x).")
    lat: str | None = Field(None, description="Path of the latitude (or northing, y).")
    wkt: str | None = Field(None, description="Path of a WKT geometry text.")
    crs: str = Field(
        "EPSG:4326",
        description="CRS of the coordinates; x is always easting/longitude, also for EPSG:4326.",
    )

    @field_validator("geojson", "lon", "lat", "wkt")
    @classmethod
    def _valid_paths(cls, value: str | None) -> str | None:
        return _path(value)

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        crs_uri(value)
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Geometry:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both `lon` and `lat`, or neither")
        kinds = [self.geojson is not None, self.lon is not None, self.wkt is not None]
        if sum(kinds) > 1:
            raise ValueError("give one of `geojson`, `lon` + `lat` or `wkt`")
        return self

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(p for p in (self.geojson, self.lon, self.lat, self.wkt) if p)


class PushRule(_Block):
    """One request parameter that selects records by a field."""

    param: str = Field(description="The API's query parameter.")
    op: PushOp = Field(
        "eq",
        description="'eq': equal to one value; 'in': any of a comma-separated list; "
        "'gte'/'lte': at least / at most the value.",
    )


class RestConfig(ConnectorConfig):
    url: str = Field(
        description="The items URL, a template over `parameters` "
        "(e.g. https://api.example.org/v1/{city}/reports).",
        pattern=r"^https?://",
    )
    base: str | None = Field(
        None,
        description="Only URLs below this one are fetched (next links and `item_url` "
        "included). Default: `url` up to its last '/'.",
        pattern=r"^https?://",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Values of the `{name}` placeholders of `url` and `item_url` (from the "
        "configuration or ${VAR}, never from a request).",
    )
    query: dict[str, str] = Field(
        default_factory=dict,
        description="Query parameters sent with every list request (e.g. format: json).",
    )
    items: str = Field(
        "",
        description="Path of the records' array in the body; empty: the body is the array.",
    )
    id: str = Field("id", description="Path of a record's id.")
    total: str | None = Field(
        None,
        description="Path of the exact number of matching records, where the API gives one "
        "(passed on as numberMatched).",
    )
    item_url: str | None = Field(
        None,
        description="URL template of one record with `{id}` (e.g. {base}/reports/{id}); "
        "without it, get(id) uses an `eq`/`in` pushdown of the id field or reads at most "
        "`get_scan_pages` pages.",
        pattern=r"^https?://",
    )
    item_path: str = Field(
        "", description="Path of the record in `item_url`'s body; empty: the body is it."
    )
    get_scan_pages: int = Field(
        10, ge=1, le=1000, description="Pages read at most to find one record by scanning."
    )
    page_size: int = Field(100, ge=1, le=10000, description="Records asked for per request.")
    paging: Paging = Field(default_factory=Paging, description="How the API pages.")
    geometry: Geometry = Field(default_factory=Geometry, description="Where locations are.")
    pushdown: dict[str, PushRule | list[PushRule]] = Field(
        default_factory=dict,
        description="Source field (a path) -> parameter(s) that select by it, e.g. "
        "{district: {param: district, op: eq}}; the API must compare exactly as the gateway "
        "does (code-point strings, numbers). Everything else is evaluated in the gateway.",
    )
    bbox_param: str | list[str] | None = Field(
        None,
        description="Parameter taking a box as minLon,minLat,maxLon,maxLat in CRS84, or four "
        "parameters taking one number each, in that order (e.g. [west, south, east, north]). "
        "The API must select the records whose location is in the box, edges included (a box "
        "across the antimeridian is not sent: it is tested here, reading from the start).",
    )
    sample_size: int = Field(
        50, ge=1, le=1000, description="Records of the first page read to infer field types."
    )
    cache_ttl: float = Field(
        300.0, gt=0, description="Seconds the sampled field list is trusted before a refresh."
    )
    http: HttpSettings = Field(
        default_factory=HttpSettings,
        description="Connection settings: headers (e.g. Authorization: ${TOKEN}), timeouts, "
        "pool, size cap, retries.",
    )

    @field_validator("items", "id", "total", "item_path")
    @classmethod
    def _valid_paths(cls, value: str | None) -> str | None:
        return _path(value)

    @field_validator("pushdown")
    @classmethod
    def _paths_of_pushdown(
        cls, value: dict[str, PushRule | list[PushRule]]
    ) -> dict[str, PushRule | list[PushRule]]:
        for name in value:
            paths.parse(name)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RestConfig:
        for key, template in (("url", self.url), ("item_url", self.item_url)):
            extra = {"id"} if key == "item_url" else set()
            for name in PLACEHOLDER.findall(template or ""):
                if name not in self.parameters and name not in extra:
                    raise ValueError(f"`{key}` names {{{name}}}, which `parameters` lacks")
        if self.item_url is not None and "{id}" not in self.item_url:
            raise ValueError("`item_url` must hold {id}")
        base = self.base.rstrip("/") if self.base else folder(fill(self.url, self.parameters))
        for key, template in (("url", self.url), ("item_url", self.item_url)):
            if template is not None:
                filled = fill(template, {**self.parameters, "id": "x"})
                if filled != base and not filled.startswith((base + "/", base + "?")):
                    raise ValueError(f"`{key}` is not below `base` ({base})")
        if isinstance(self.bbox_param, list) and len(self.bbox_param) != 4:
            raise ValueError("`bbox_param` as a list names four parameters")
        used = [r.param for r in self.rules()] + self.bbox_params()
        used += list(self.paging_params()) + list(self.query)
        clash = {p for p in used if used.count(p) > 1}
        if clash:
            raise ValueError(f"parameter(s) {', '.join(sorted(clash))} used twice")
        return self

    def bbox_params(self) -> list[str]:
        box = self.bbox_param
        return [] if box is None else [box] if isinstance(box, str) else list(box)

    def rules(self) -> list[PushRule]:
        return [r for v in self.pushdown.values() for r in (v if isinstance(v, list) else [v])]

    def field_rules(self, name: str) -> dict[str, PushRule]:
        """op -> rule of one source field."""
        found = self.pushdown.get(name)
        listed = [] if found is None else found if isinstance(found, list) else [found]
        return {r.op: r for r in listed}

    def paging_params(self) -> tuple[str, ...]:
        p = self.paging
        by_style: dict[str, tuple[str | None, ...]] = {
            "offset": (p.offset_param, p.limit_param),
            "page": (p.page_param, p.size_param),
            "cursor": (p.cursor_param, p.limit_param),
            "next_link": (p.limit_param,),
            "link_header": (p.limit_param,),
            "none": (),
        }
        return tuple(x for x in by_style[p.style] if x)


__all__ = ["Geometry", "Paging", "PushRule", "RestConfig", "fill", "folder"]
