"""Cases for the OGC API – Features facade: templates × payloads over a surface's items
endpoints, pages, tenants and collections. Payloads rotate over the endpoints (each endpoint
gets its share of every list) except where every endpoint must see every payload."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tests.hostile import payloads as P
from tests.hostile.corpus import (
    LITERAL,
    STRING_VALUE,
    Case,
    Items,
    Surface,
    ok,
    rotate,
)
from tests.hostile.payloads import Payload, enc, quoted_literal

PARAMS = (
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "sortby",
    "properties",
    "skipGeometry",
    "f",
    "filter-lang",
    "filter-crs",
    "cursor",
)
LANG = ("filter-lang", "cql2-json")


def url(path: str, *pairs: tuple[str, str]) -> str:
    """A target from a path and (name, value) pairs already in wire form."""
    return path + ("?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else "")


def cql2_json(doc: object) -> str:
    return enc(json.dumps(doc, ensure_ascii=False))


def eq_json(it: Items, p: Payload) -> str:
    """`{string} = p` in CQL2-JSON on the wire (a wire-only payload goes in as its bytes)."""
    if p.raw is not None:
        return cql2_json({"op": "=", "args": [{"property": it.string}, p.raw]})
    head = enc(json.dumps({"op": "=", "args": [{"property": it.string}, "@"]})).split("%40")
    return head[0] + p.wire + head[1]


def c(category: str, name: str, target: str, **kw: object) -> Case:
    return Case(category, name, "ogc", target, **kw)  # type: ignore[arg-type]


def injection(s: Surface) -> Iterator[Case]:
    for it in s.items:
        for p in P.SQL:
            key = f"{it.label}:{p.name}"
            yield ok(
                c("injection", f"sql-queryable:{key}", url(it.path, (it.string, p.wire))),
                STRING_VALUE,
                empty=True,
            )
            text = url(it.path, ("filter", enc(f"{it.string} = ") + quoted_literal(p)))
            yield ok(c("injection", f"sql-cql2-literal:{key}", text), LITERAL, empty=True)
            as_json = url(it.path, LANG, ("filter", eq_json(it, p)))
            yield ok(c("injection", f"sql-cql2-json:{key}", as_json), LITERAL, empty=True)
    for i, p in enumerate(P.SQL):
        it = rotate(s.items, i)
        key = f"{it.label}:{p.name}"
        yield c("injection", f"sql-integer:{key}", url(it.path, (it.integer, p.wire)))
        like = url(it.path, ("filter", enc(f"{it.string} LIKE ") + quoted_literal(p)))
        yield ok(c("injection", f"sql-like:{key}", like), LITERAL, empty=True)
        ident = enc('"' + (p.raw or "").replace('"', '""') + '" = ') + quoted_literal(p)
        yield c("injection", f"sql-identifier:{key}", url(it.path, ("filter", ident)))
        prop = cql2_json({"op": "=", "args": [{"property": p.raw}, "x"]})
        yield c("injection", f"sql-json-property:{key}", url(it.path, LANG, ("filter", prop)))
        yield c("injection", f"sql-whole-filter:{key}", url(it.path, ("filter", p.wire)))
        body = json.dumps({"op": "=", "args": [{"property": it.string}, p.raw]}).encode()
        yield ok(
            c(
                "injection",
                f"sql-post-body:{key}",
                it.path,
                method="POST",
                body=body,
                headers=(("content-type", "application/json"),),
            ),
            LITERAL,
            empty=True,
        )
        yield c("injection", f"sql-item-id:{key}", f"{it.path}/{p.wire}", status=404)
        yield c(
            "injection",
            f"sql-collection:{key}",
            f"{s.items[0].path.split('/collections/')[0]}/collections/{p.wire}",
            status=404,
        )
        yield c("injection", f"sql-tenant:{key}", f"/{p.wire}/collections", status=404)
        for j in range(3):
            param = rotate(PARAMS, i * 3 + j)
            yield c("injection", f"sql-param-{param}:{key}", url(it.path, (param, p.wire)))
    yield from _functions_and_names(s)
    yield from _markup(s)
    yield from _crs_names(s)


def _crs_names(s: Surface) -> Iterator[Case]:
    """CRS parameters name a CRS the collection offers, or an EPSG code for filter-crs:
    nothing else reaches PROJ (a PROJ string, a file, a URL of someone else's)."""
    names = {
        "epsg-0": "EPSG:0",
        "epsg-huge": "http://www.opengis.net/def/crs/EPSG/0/999999",
        "compound": "http://www.opengis.net/def/crs/EPSG/0/4326+5773",
        "proj-string": "+proj=longlat +datum=WGS84",
        "file": "file:///etc/passwd",
        "url": "http://evil.example/crs",
        "urn": "urn:ogc:def:crs:EPSG::4326",
        "padded": "http://www.opengis.net/def/crs/EPSG/0/0000004326",
    }
    point = ("filter", enc("S_INTERSECTS(geometry, POINT(10 53.5))"))
    for i, (name, value) in enumerate(names.items()):
        it = rotate(s.items, i)
        for param in ("crs", "bbox-crs", "filter-crs"):
            extra = point if param == "filter-crs" else ("bbox", "0,0,1,1")
            target = url(it.path, (param, enc(value)), extra)
            yield c("injection", f"crs-{param}-{name}:{it.label}", target)


def _functions_and_names(s: Surface) -> Iterator[Case]:
    for i, fn in enumerate(P.CQL2_FUNCTIONS):
        it = rotate(s.items, i)
        key = f"{it.label}:{fn[:20]}"
        call = url(it.path, ("filter", enc(f"{fn}({it.string}) = 'x'")))
        yield c("injection", f"cql2-function:{key}", call)
        bare = url(it.path, ("filter", enc(f"{fn}('x', 1)")))
        yield c("injection", f"cql2-function-bare:{key}", bare)
        as_json = cql2_json({"op": fn, "args": [{"property": it.string}, "x"]})
        yield c("injection", f"cql2-json-function:{key}", url(it.path, LANG, ("filter", as_json)))
    for i, p in enumerate(P.NAMES):
        it = rotate(s.items, i)
        key = f"{it.label}:{p.name}"
        raw = p.raw or ""
        ident = enc('"' + raw.replace('"', '""') + "\" = 'x'")
        yield c("injection", f"name-identifier:{key}", url(it.path, ("filter", ident)))
        prop = cql2_json({"op": "=", "args": [{"property": raw}, "x"]})
        yield c("injection", f"name-json:{key}", url(it.path, LANG, ("filter", prop)))
        yield c("injection", f"name-sortby:{key}", url(it.path, ("sortby", p.wire)))
        yield c("injection", f"name-properties:{key}", url(it.path, ("properties", p.wire)))
        yield c("injection", f"name-parameter:{key}", url(it.path, (p.wire, "x")))


def _markup(s: Surface) -> Iterator[Case]:
    """Markup in what the HTML pages echo back: pages asked for with f=html, and error pages,
    which are HTML when a browser's Accept asks for it (with f=html they are JSON)."""
    html = ("f", "html")
    browser = (("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),)
    for i, p in enumerate(P.XSS):
        it = rotate(s.items, i)
        key = f"{it.label}:{p.name}"
        queryable = c("injection", f"html-queryable:{key}", url(it.path, html, (it.string, p.wire)))
        yield ok(queryable, STRING_VALUE)
        lit = url(it.path, html, ("filter", enc(f"{it.string} = ") + quoted_literal(p)))
        yield ok(c("injection", f"html-filter:{key}", lit), LITERAL)
        collection = it.collection.rsplit("/", 1)[0]
        errors = {
            "limit": (url(it.path, ("limit", p.wire)), None),
            "bbox": (url(it.path, ("bbox", f"{p.wire},1,2,3")), None),
            "sortby": (url(it.path, ("sortby", p.wire)), None),
            "datetime": (url(it.path, ("datetime", p.wire)), None),
            "param-name": (url(it.path, (p.wire, "1")), None),
            "item": (f"{it.path}/{p.wire}", 404),
            "collection": (f"{collection}/{p.wire}", 404),
            "tenant": (f"/{p.wire}/", 404),
            "page-param": (url(rotate(s.pages, i), (p.wire, "1")), None),
        }
        for name, (target, status) in errors.items():
            yield c("injection", f"html-{name}:{key}", target, headers=browser, status=status)
        yield c("injection", f"json-item:{key}", url(f"{it.path}/{p.wire}", html), status=404)
