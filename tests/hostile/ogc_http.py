"""OGC API – Features cases of paths and headers: traversal, encoded and doubled slashes,
unknown and very long names, odd methods; Accept, Content-Type, forwarded headers from an
untrusted peer, request ids, Range and conditional headers, Host."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tests.hostile import payloads as P
from tests.hostile.corpus import (
    IGNORED_HEADER,
    MATCHES,
    UNTRUSTED,
    Case,
    Surface,
    ok,
    rotate,
)
from tests.hostile.ogc import c, url
from tests.hostile.payloads import enc

DECODED_SLASH = "the server decodes %2F before routing (as uvicorn does): the same resource"


def paths(s: Surface) -> Iterator[Case]:
    it = s.items[0]
    base = it.collection.split("/collections/")[0]
    targets = {
        "dot-dot": f"{base}/../../etc/passwd",
        "dot-dot-tenant": f"/{s.tenants[0]}/../collections",
        "encoded-dots": "/%2e%2e/%2e%2e/etc/passwd",
        "encoded-dots-upper": f"/{s.tenants[0]}/%2E%2E/collections",
        "overlong-dots": "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "encoded-slash-collection": f"{base}/collections/{it.collection.rsplit('/', 1)[1]}%2Fitems",
        "encoded-slash-tenant": f"/{s.tenants[0]}%2Fcollections",
        "double-slash-root": "//collections",
        "double-slash-middle": f"{base}/collections//{it.collection.rsplit('/', 1)[1]}",
        "double-slash-items": f"{it.path}//{it.item}",
        "backslash": f"{base}\\collections",
        "encoded-backslash": f"{base}%5Ccollections",
        "static": "/static/../../../etc/passwd",
        "dotfile": "/.env",
        "git": "/.git/config",
        "config": "/config.yaml",
        "unknown-tenant": "/nobody/collections",
        "unknown-collection": f"{base}/collections/nothing-here/items",
        "unknown-item": f"{it.path}/does-not-exist",
        "long-item": f"{it.path}/{'9' * 20000}",
        "long-collection": f"{base}/collections/{'c' * 20000}",
        "long-tenant": f"/{'t' * 20000}/collections",
        "quote-item": f"{it.path}/{enc(chr(39) + it.item + chr(39))}",
        "semicolon": f"{it.path}/{it.item};jsessionid=1",
        "matrix": f"{base}/collections;x=1",
        "fragment": f"{it.path}%23frag",
        "trailing-dot": f"{it.collection}.",
        "case": f"{base}/COLLECTIONS",
        "tilde": f"{base}/~root",
        "percent-alone": f"{base}/collections/%",
    }
    decoded = {"encoded-slash-collection", "encoded-slash-tenant"}
    for name, target in targets.items():
        case = c("paths", name, target, status=None if name in decoded else 404)
        yield ok(case, DECODED_SLASH) if name in decoded else case
    cursors = {
        "garbage": "AAAA",
        "dot": ".",
        "long": "A" * 20000,
        "padding": "====",
        "json": "eyJvIjotMX0",
        "sql": P.SQL[0].wire,
    }
    for name, value in cursors.items():
        yield c("paths", f"cursor-{name}", url(it.path, ("cursor", value)))
    heads = {
        "head-bad-limit": url(it.path, ("limit", P.SQL[0].wire)),
        "head-bad-item": f"{it.path}/{P.XSS[0].wire}",
        "head-bad-filter": url(it.path, ("filter", enc("(" * 100))),
    }
    for name, target in heads.items():
        yield c("paths", name, target, method="HEAD")
    for method in ("PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"):
        yield c("paths", f"method-{method}", it.path, method=method, status=405)
    why = "every route answers OPTIONS (CORS): 204 with Allow"
    yield c("paths", "method-OPTIONS", it.path, method="OPTIONS", expect="2xx", why=why, status=204)


def headers(s: Surface) -> Iterator[Case]:
    it = s.items[0]
    page = f"{it.path}?limit=2"
    accepts = [
        "",
        "*/*",
        "*/*;q=0",
        "text/html;q=abc",
        "application/json;q=0, text/html;q=0",
        "application/xml",
        "image/png",
        "text/html, " * 500,
        ";;;;,,,",
        "a" * 5000,
        "text/html;level=<script>hx()</script>",
        "application/json;q=1e400",
        "application/json;q=nan",
        'application/geo+json;profile="<x>"',
    ]
    for i, value in enumerate(accepts):
        target = rotate([page, f"{it.path}/{it.item}", f"{it.collection}", "/collections"], i)
        yield ok(c("headers", f"accept-{i}", target, headers=(("accept", value),)), IGNORED_HEADER)
    yield from _content_types(s)
    yield from _forwarded(s)
    ids = [
        "abc def",
        "a" * 65,
        "<script>hx()</script>",
        "../../etc",
        "\x1b[31mred",
        "a\x00b",
        "'; DROP TABLE trees;--",
        "%00",
        "x" * 10000,
        "",
        "short",
    ]
    for i, value in enumerate(ids):
        yield ok(
            c("headers", f"request-id-{i}", page, headers=(("x-request-id", value),)),
            "a request id that does not look like one is replaced by our own",
        )
    others = {
        "range": ("range", "bytes=0-10"),
        "range-many": ("range", "bytes=0-0," * 2000),
        "range-huge": ("range", "bytes=99999999999999999999-"),
        "range-unit": ("range", "items=0-1"),
        "if-none-match-star": ("if-none-match", "*"),
        "if-none-match-long": ("if-none-match", '"' + "a" * 8000 + '"'),
        "if-modified-since": ("if-modified-since", "garbage"),
        "if-modified-since-far": ("if-modified-since", "Fri, 31 Dec 9999 23:59:59 GMT"),
        "if-match": ("if-match", "*"),
        "if-unmodified-since": ("if-unmodified-since", "0"),
        "if-range": ("if-range", "<script>"),
        "method-override": ("x-http-method-override", "DELETE"),
        "authorization": ("authorization", "Basic " + "A" * 4000),
        "cookie": ("cookie", "a=" + "b" * 8000),
        "origin": ("origin", "https://evil.example"),
        "content-length-on-get": ("content-length", "99999999999999999999"),
        "transfer-encoding": ("transfer-encoding", "gzip, chunked"),
        "expect": ("expect", "100-continue"),
        "te": ("te", "trailers, deflate;q=0.5"),
        "accept-encoding": ("accept-encoding", "br;q=1e999, " * 200),
        "host-port": ("host", "evil.example:99999"),
        "host-garbage": ("host", "<script>hx()</script>"),
        "host-ipv6-open": ("host", "[::1"),
        "host-space": ("host", "a b"),
        "host-empty": ("host", ""),
        "host-long": ("host", "h" * 5000),
        "host-userinfo": ("host", "user:pass@evil.example"),
    }
    for i, (name, header) in enumerate(others.items()):
        target = rotate([page, "/", f"{it.collection}", "/collections"], i)
        if name == "if-none-match-star":  # matches any current answer (RFC 9110 §13.1.2)
            yield ok(c("headers", name, target, headers=(header,)), MATCHES, not_modified=True)
        else:
            yield ok(c("headers", name, target, headers=(header,)), IGNORED_HEADER)


def _content_types(s: Surface) -> Iterator[Case]:
    it = s.items[0]
    valid = json.dumps({"op": "=", "args": [{"property": it.string}, "nothing"]}).encode()
    bad = {
        "text-plain": ("text/plain", valid),
        "form": ("application/x-www-form-urlencoded", b"filter=genus%3D%27x%27"),
        "multipart": ("multipart/form-data; boundary=x", b"--x\r\n\r\n" + valid + b"\r\n--x--"),
        "xml": ("application/xml", b"<fes:Filter/>"),
        "not-json": ("application/json", b"genus = 'x'"),
        "json-null": ("application/json", b"null"),
        "json-array": ("application/json", b"[]"),
        "json-string": ("application/json", b'"genus"'),
        "json-overflow": ("application/json", b"1e999"),
        "json-trailing": ("application/json", valid + b"}"),
        "json-duplicate-op": ("application/json", b'{"op":"=","op":"<","args":[]}'),
        "cql-text-body": ("text/cql2", b"genus = 'x'"),
        "too-large": (
            "application/json",
            b'{"op":"=","args":[{"property":"g"},"' + b"x" * 1_100_000 + b'"]}',
        ),
    }
    for i, (name, (ctype, body)) in enumerate(bad.items()):
        item = rotate(s.items, i)
        yield c(
            "headers",
            f"content-type-{name}:{item.label}",
            item.path,
            method="POST",
            body=body,
            headers=(("content-type", ctype),),
        )
    fine = {
        "upper-case": "APPLICATION/JSON",
        "params": "application/json; charset=utf-8; x=1",
        "cql-json": "application/query-cql-json",
        "none": "",
    }
    for name, ctype in fine.items():
        yield ok(
            c(
                "headers",
                f"content-type-{name}:{it.label}",
                it.path,
                method="POST",
                body=valid,
                headers=(("content-type", ctype),),
            ),
            "a CQL2-JSON body with a content type the facade takes",
            empty=True,
        )
    yield ok(
        c(
            "headers",
            f"content-type-empty-body:{it.label}",
            f"{it.path}?limit=1",
            method="POST",
            headers=(("content-type", "application/json"),),
        ),
        "an empty body is no filter",
    )


def _forwarded(s: Surface) -> Iterator[Case]:
    page = f"{s.items[0].collection}"
    forged = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "javascript"),
        ("x-forwarded-prefix", "/evil.example/<script>hx()</script>"),
        ("forwarded", "host=evil.example;proto=https"),
        ("forwarded", 'for="[::1]";host="evil.example:1"'),
        ("x-forwarded-host", "other.example, evil.example"),
        ("x-forwarded-host", "evil.example\x00"),
        ("forwarded", "for=127.0.0.1;host=evil.example, for=127.0.0.1"),
    ]
    for i, header in enumerate(forged):
        yield ok(
            c(
                "headers",
                f"forwarded-{i}",
                page,
                headers=(header,),
                absent=("evil.example", "javascript:", "<script"),
            ),
            UNTRUSTED,
        )
    spoofs = [
        ("x-forwarded-for", "127.0.0.1"),
        ("x-real-ip", "127.0.0.1"),
        ("true-client-ip", "::1"),
    ]
    for i, spoof in enumerate(spoofs):
        both = (spoof, ("x-forwarded-host", "evil.example"))
        yield ok(
            c("headers", f"forwarded-spoof-{i}", page, headers=both, absent=("evil.example",)),
            UNTRUSTED + "; a claimed client address makes no peer trusted",
        )
