"""All link building in one place. Links are absolute, built from `server.base_url` or the
request (honouring `Forwarded` and X-Forwarded-Proto/Host/Prefix from a trusted reverse
proxy, see gateway/forwarded.py).

Host headers are client-controlled, so each value is checked against a strict pattern and
ignored when it does not fit: a crafted Host must never end up inside our links.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request

from gateway.config import ServerSettings
from gateway.forwarded import forwarded, trusted_proxies

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

_HOST = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_PREFIX = re.compile(r"^(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?$")


def profile_uri(base: str, profile_id: str, version: str) -> str:
    """A profile version as this gateway publishes it (/catalog/profiles/{id}/{version}): what a
    collection names in `conformsTo`, and what DCAT-AP's dct:conformsTo points to."""
    return f"{base}/catalog/profiles/{profile_id}/{version}"


def base_url(request: Request, settings: ServerSettings) -> str:
    """The public root of the whole gateway, without a trailing slash: `server.base_url`,
    else what a trusted proxy forwarded, else the request's own Host and socket."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    peer = request.client.host if request.client else None
    proxy = forwarded(request.headers, peer, trusted_proxies(tuple(settings.forwarded_allow_ips)))
    scheme = proxy.proto.lower() if proxy.proto else None
    if scheme not in ("http", "https"):
        scheme = request.scope.get("scheme", "http")  # request.url would parse the whole URL
    candidates = (proxy.host, request.headers.get("host"))
    host = next((h for h in candidates if h and _HOST.match(h)), None)
    if host is None:
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    prefix = proxy.prefix or ""
    if not _PREFIX.match(prefix):
        prefix = ""
    return f"{scheme}://{host}{prefix.rstrip('/')}"


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def with_format(url: str, query: str, f: str) -> str:
    """`url?query&f=…` for an already encoded `query` without `f`: the text
    `with_query(url, {**params, "f": f})` gives, with `params` encoded once for all of a
    document's links rather than once per link."""
    return f"{url}?{query}&f={f}" if query else f"{url}?f={f}"


def format_links(url: str, params: dict[str, str], current: str, json_type: str) -> list[dict]:
    """`self` for the representation served, `alternate` for the other one."""
    if "f" in params:  # {**params, "f": …} keeps f where it stands
        json_href, html_href = (with_query(url, {**params, "f": f}) for f in ("json", "html"))
    else:
        query = urlencode(params)
        json_href, html_href = (with_format(url, query, f) for f in ("json", "html"))
    return _format_links(json_href, html_href, current, json_type)


def encoded_format_links(url: str, query: str, current: str, json_type: str) -> list[dict]:
    """`format_links` for an encoded query without `f` (see `with_format`)."""
    json_href, html_href = with_format(url, query, "json"), with_format(url, query, "html")
    return _format_links(json_href, html_href, current, json_type)


def _format_links(json_href: str, html_href: str, current: str, json_type: str) -> list[dict]:
    json_link = link(json_href, "self", json_type, "This document")
    html_link = link(html_href, "alternate", HTML, "As HTML")
    if current == "html":
        json_link["rel"], json_link["title"] = "alternate", "As JSON"
        html_link["rel"], html_link["title"] = "self", "This document"
    return [json_link, html_link]
