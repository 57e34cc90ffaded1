"""OGC API – Features cases of encoding and control characters: invalid UTF-8, overlong
sequences, surrogates, BOMs, normalisation, RTL and zero-width characters, NUL and C0/C1
controls, in every kind of value, in paths and ids, and in request bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import unquote_to_bytes

from tests.hostile import payloads as P
from tests.hostile.corpus import (
    LITERAL,
    STRING_VALUE,
    UNICODE,
    Case,
    Surface,
    ok,
    rotate,
)
from tests.hostile.ogc import LANG, c, eq_json, url
from tests.hostile.payloads import Payload, enc, quoted_literal


def encoding(s: Surface) -> Iterator[Case]:
    for i, p in enumerate(P.ENCODINGS):
        it = rotate(s.items, i)
        key = f"{it.label}:{p.name}"
        yield ok(
            c("encoding", f"queryable:{key}", url(it.path, (it.string, p.wire))),
            UNICODE,
            empty=True,
        )
        lit = url(it.path, ("filter", enc(f"{it.string} = ") + quoted_literal(p)))
        yield ok(c("encoding", f"cql2-literal:{key}", lit), UNICODE, empty=True)
        as_json = url(it.path, LANG, ("filter", eq_json(it, p)))
        yield ok(c("encoding", f"cql2-json:{key}", as_json), UNICODE, empty=True)
        integer = c("encoding", f"integer:{key}", url(it.path, (it.integer, p.wire)))
        if p.name == "fullwidth-digits":
            integer = ok(integer, "Unicode decimal digits are read as the number 1990")
        yield integer
        ident = url(it.path, ("filter", enc('"') + p.wire + enc("\" = 'x'")))
        yield c("encoding", f"identifier:{key}", ident)
        for j, param in enumerate(("f", "limit", "bbox", "datetime", "sortby", "crs")):
            if (i + j) % 2 == 0:
                yield c("encoding", f"param-{param}:{key}", url(it.path, (param, p.wire)))
        yield c("encoding", f"item:{key}", f"{it.path}/{p.wire}", status=404)
        yield c(
            "encoding",
            f"collection:{key}",
            f"{it.collection.rsplit('/', 1)[0]}/{p.wire}",
            status=404,
        )
        yield c("encoding", f"tenant:{key}", f"/{p.wire}/", status=404)
        yield c("encoding", f"parameter-name:{key}", url(it.path, (p.wire, "1")))
        body = _json_body_with(it.string, p)
        post = c(
            "encoding",
            f"post-body:{key}",
            it.path,
            method="POST",
            body=body,
            headers=(("content-type", "application/json"),),
        )
        valid = _utf8(body)  # an escape that is no escape is text, an invalid byte is not
        yield ok(post, UNICODE, empty=True) if valid else post
    for i, (name, body) in enumerate(_odd_bodies(s.items[0].string).items()):
        it = rotate(s.items, i)
        yield c(
            "encoding",
            f"body-{name}:{it.label}",
            it.path,
            method="POST",
            body=body,
            headers=(("content-type", "application/json"),),
        )


def _json_body_with(prop: str, p: Payload) -> bytes:
    if p.raw is not None:
        return json.dumps({"op": "=", "args": [{"property": prop}, p.raw]}).encode()
    head, tail = json.dumps({"op": "=", "args": [{"property": prop}, "@"]}).split("@")
    return head.encode() + unquote_to_bytes(p.wire) + tail.encode()


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _odd_bodies(prop: str) -> dict[str, bytes]:
    valid = json.dumps({"op": "=", "args": [{"property": prop}, "x"]})
    return {
        "bom": b"\xef\xbb\xbf" + valid.encode(),
        "utf16": valid.encode("utf-16"),
        "utf32": valid.encode("utf-32"),
        "latin1": valid.replace('"x"', '"\xe9"').encode("latin-1"),
        "lone-surrogate-escape": valid.replace('"x"', '"\\ud800"').encode(),
        "overlong-quote": valid.encode().replace(b'"x"', b'"\xc0\xa2x"'),
        "nul-bytes": valid.encode() + b"\x00" * 10,
    }


def nul(s: Surface) -> Iterator[Case]:
    for i, p in enumerate(P.CONTROLS):
        it = rotate(s.items, i)
        key = f"{it.label}:{p.name}"
        has_nul = "\x00" in (p.raw or "")
        slots = {
            "queryable": (url(it.path, (it.string, p.wire)), STRING_VALUE),
            "cql2-literal": (
                url(it.path, ("filter", enc(f"{it.string} = ") + quoted_literal(p))),
                LITERAL,
            ),
            "cql2-json": (url(it.path, LANG, ("filter", eq_json(it, p))), LITERAL),
        }
        for slot, (target, why) in slots.items():
            case = c("nul", f"{slot}:{key}", target)
            yield case if has_nul else ok(case, why, empty=True)
        body = _json_body_with(it.string, p)
        post = c(
            "nul",
            f"post-body:{key}",
            it.path,
            method="POST",
            body=body,
            headers=(("content-type", "application/json"),),
        )
        yield post if has_nul else ok(post, LITERAL, empty=True)
        yield c("nul", f"integer:{key}", url(it.path, (it.integer, p.wire)))
        yield c("nul", f"date:{key}", url(it.path, (it.date, p.wire)))
        yield c(
            "nul",
            f"identifier:{key}",
            url(it.path, ("filter", enc(f'"{it.string}') + p.wire + enc("\" = 'x'"))),
        )
        for param in (
            "limit",
            "bbox",
            "datetime",
            "f",
            "sortby",
            "properties",
            "crs",
            "filter-lang",
        ):
            yield c("nul", f"param-{param}:{key}", url(it.path, (param, p.wire)))
        yield c("nul", f"item:{key}", f"{it.path}/{p.wire}", status=404)
        yield c("nul", f"item-suffix:{key}", f"{it.path}/{it.item}{p.wire}", status=404)
        yield c("nul", f"collection:{key}", f"{it.collection}{p.wire}", status=404)
        yield c("nul", f"tenant:{key}", f"/{p.wire}/collections", status=404)
        yield c("nul", f"parameter-name:{key}", url(it.path, (p.wire, "1")))
