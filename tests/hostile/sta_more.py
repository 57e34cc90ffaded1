"""SensorThings cases beyond injection, size and depth: encodings and control characters in
literals, options, ids and paths; SQL wildcards in OData string functions; odd paths and
methods; headers, and writes with odd bodies and content types."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tests.hostile import payloads as P
from tests.hostile.corpus import (
    IGNORED_HEADER,
    LITERAL,
    MATCHES,
    UNICODE,
    UNTRUSTED,
    Case,
    StaRoot,
    Surface,
    ok,
    rotate,
)
from tests.hostile.ogc import url
from tests.hostile.payloads import enc, quoted_literal
from tests.hostile.sta import c, name_eq, q


def encoding(s: Surface) -> Iterator[Case]:
    for i, p in enumerate(P.ENCODINGS):
        r = rotate(s.sta, i)
        key = f"{r.label}:{p.name}"
        yield ok(
            c("encoding", f"literal:{key}", name_eq(r, quoted_literal(p))), UNICODE, empty=True
        )
        yield c("encoding", f"select:{key}", url(f"{r.root}/Things", (q("$select"), p.wire)))
        yield c("encoding", f"orderby:{key}", url(f"{r.root}/Things", (q("$orderby"), p.wire)))
        yield c("encoding", f"id:{key}", f"{r.root}/Things({quoted_literal(p)})")
        yield c("encoding", f"set:{key}", f"{r.root}/{p.wire}")
        yield c("encoding", f"option-name:{key}", url(f"{r.root}/Things", (enc("$") + p.wire, "1")))


def nul(s: Surface) -> Iterator[Case]:
    for i, p in enumerate(P.CONTROLS):
        r = rotate(s.sta, i)
        key = f"{r.label}:{p.name}"
        literal = c("nul", f"literal:{key}", name_eq(r, quoted_literal(p)))
        yield literal if "\x00" in (p.raw or "") else ok(literal, LITERAL, empty=True)
        yield c("nul", f"select:{key}", url(f"{r.root}/Things", (q("$select"), p.wire)))
        yield c("nul", f"top:{key}", url(f"{r.root}/Things", (q("$top"), "1" + p.wire)))
        yield c("nul", f"id:{key}", f"{r.root}/Things({quoted_literal(p)})")
        yield c("nul", f"id-bare:{key}", f"{r.root}/Things({r.thing}{p.wire})")
        yield c("nul", f"set:{key}", f"{r.root}/Things{p.wire}")
        yield c("nul", f"member:{key}", f"{r.root}/Things({r.thing})/name{p.wire}")
        yield c("nul", f"version:{key}", f"{r.root.rsplit('/', 1)[0]}/v1.1{p.wire}/Things")
        prop = c(
            "nul",
            f"property-path:{key}",
            url(f"{r.root}/Things", (q("$filter"), enc("properties/") + p.wire + enc(" eq 1"))),
        )
        yield (
            ok(prop, "tab, VT and FF are whitespace: properties/a eq 1", empty=True)
            if p.name == "tab-vt-ff"
            else prop
        )


def patterns(s: Surface) -> Iterator[Case]:
    forms = {
        "substringof-percent": ("substringof('%', name)", True),
        "substringof-underscore": ("substringof('_', name)", True),
        "startswith-percent": ("startswith(name, '%')", True),
        "endswith-underscores": ("endswith(name, '____')", True),
        "contains-escape": ("substringof('\\%', name)", True),
        "backslash": ("substringof('\\', name)", True),
        "percent-many": ("substringof('" + "%" * 500 + "', name)", True),
        "percent-a-5000": ("substringof('" + "%a" * 5000 + "', name)", True),
        "eq-percent": ("name eq '%'", True),
        "brackets": ("startswith(name, '[a-z]')", True),
    }
    for r in s.sta:
        for name, (expr, empty) in forms.items():
            target = url(f"{r.root}/Things", (q("$filter"), enc(expr)))
            why = "wildcards of SQL are plain characters in OData string functions"
            yield ok(c("patterns", f"{name}:{r.label}", target), why, empty=empty)


def paths(s: Surface) -> Iterator[Case]:
    for r in s.sta:
        version_root = r.root.rsplit("/", 1)[0]
        bad = {
            "dot-dot": f"{r.root}/Things({r.thing})/../../../etc/passwd",
            "encoded-dots": f"{r.root}/%2e%2e/%2e%2e/collections",
            "encoded-slash": f"{r.root}/Things%2F1",
            "double-slash": f"{r.root}//Things",
            "unknown-version": f"{version_root}/v1.0/Things",
            "version-dots": f"{version_root}/..%2Fv1.1/Things",
            "unknown-set": f"{r.root}/Thingz",
            "unknown-nav": f"{r.root}/Things({r.thing})/Thingz",
            "id-beyond-bigint": f"{r.root}/Things(99999999999999999999)",
            "id-negative": f"{r.root}/Things(-1)",
            "id-float": f"{r.root}/Things(1.5)",
            "id-exp": f"{r.root}/Things(1e3)",
            "id-empty": f"{r.root}/Things()",
            "id-empty-string": f"{r.root}/Things('')",
            "id-unbalanced": f"{r.root}/Things(%27a%27%27)",
            "id-twice": f"{r.root}/Things(1)(2)",
            "id-long": f"{r.root}/Things('{'x' * 20000}')",
            "id-long-number": f"{r.root}/Things({'9' * 5000})",
            "value-twice": f"{r.root}/Things({r.thing})/name/$value/$value",
            "ref-twice": f"{r.root}/Things/$ref/$ref",
            "metadata": f"{r.root}/$metadata",
            "batch": f"{r.root}/$batch",
            "properties-dots": f"{r.root}/Things({r.thing})/properties/..",
            "action-get": f"{r.root}/CreateObservations",
            "semicolon": f"{r.root}/Things;x=1",
        }
        for name, target in bad.items():
            yield c("paths", f"{name}:{r.label}", target)
        yield c("paths", f"unknown-tenant:{r.label}", "/nobody/sta/v1.1/Things", status=404)
        yield c(
            "paths",
            f"head-bad-filter:{r.label}",
            url(f"{r.root}/Things", (q("$filter"), enc("(" * 100))),
            method="HEAD",
        )
        for method in ("PUT", "TRACE", "PROPFIND"):
            yield c("paths", f"method-{method}:{r.label}", f"{r.root}/Things", method=method)
        yield c(
            "paths",
            f"method-OPTIONS:{r.label}",
            f"{r.root}/Things",
            method="OPTIONS",
            expect="2xx",
            why="every route answers OPTIONS (CORS): 204 with Allow",
            status=204,
        )


def headers(s: Surface) -> Iterator[Case]:
    for i, r in enumerate(s.sta):
        things = f"{r.root}/Things?%24top=1"
        for j, value in enumerate(["text/html", "application/xml", "*/*;q=0", "a" * 5000, ";;;"]):
            yield ok(
                c("headers", f"accept-{j}:{r.label}", things, headers=(("accept", value),)),
                IGNORED_HEADER,
            )
        forged = [
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "host=evil.example;proto=https"),
            ("x-forwarded-prefix", "/evil.example"),
        ]
        for j, header in enumerate(forged):
            yield ok(
                c(
                    "headers",
                    f"forwarded-{j}:{r.label}",
                    things,
                    headers=(header,),
                    absent=("evil.example",),
                ),
                UNTRUSTED,
            )
        for j, value in enumerate(["<script>", "a\x00b", "x" * 5000]):
            yield ok(
                c(
                    "headers",
                    f"request-id-{j}:{r.label}",
                    things,
                    headers=(("x-request-id", value),),
                ),
                "a request id that does not look like one is replaced by our own",
            )
        for j, header in enumerate(
            [("range", "bytes=0-1"), ("if-none-match", "*"), ("if-modified-since", "x")]
        ):
            yield ok(
                c("headers", f"conditional-{j}:{r.label}", things, headers=(header,)),
                MATCHES if header[1] == "*" else IGNORED_HEADER,
                not_modified=header[1] == "*",
            )
        yield from _writes(s, r, i)


def _writes(s: Surface, r: StaRoot, i: int) -> Iterator[Case]:
    """Writes with odd bodies and content types: refused before anything is stored."""
    thing = json.dumps({"name": "hostile", "description": "never stored"}).encode()
    key = (("x-api-key", s.api_key),) if s.api_key and r.writable else ()
    bodies = {
        "text-plain": ("text/plain", b"name=x"),
        "xml": ("application/xml", b"<Thing/>"),
        "not-json": ("application/json", b"{name: 'x'"),
        "json-array": ("application/json", b"[]"),
        "bom": ("application/json", b"\xef\xbb\xbf" + b"{"),
        "utf16": ("application/json", b"{}".decode().encode("utf-16")),
        "deep": (
            "application/json",
            b'{"name":"x","description":"y","properties":' + b'{"a":' * 3000 + b"1" + b"}" * 3001,
        ),
        "nul-key": (
            "application/json",
            b'{"name":"x","description":"y","properties":{"a\\u0000":1}}',
        ),
        "too-large": ("application/json", b'{"name":"' + b"x" * 1_100_000 + b'"}'),
    }
    for name, (ctype, body) in bodies.items():
        yield c(
            "headers",
            f"post-{name}:{r.label}",
            f"{r.root}/Things",
            method="POST",
            body=body,
            headers=(("content-type", ctype), *key),
        )
    yield c(
        "headers",
        f"post-no-key:{r.label}",
        f"{r.root}/Things",
        method="POST",
        body=thing,
        headers=(("content-type", "application/json"), ("x-api-key", "' OR 1=1 --")),
    )
    yield c(
        "headers",
        f"patch-mismatch:{r.label}",
        f"{r.root}/Things({r.thing})",
        method="PATCH",
        body=b"[]",
        headers=(("content-type", "application/json"), *key),
    )
