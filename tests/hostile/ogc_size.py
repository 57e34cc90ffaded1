"""OGC API – Features cases of size, depth and LIKE patterns: huge numbers and pages, long
values, many parameters and terms, deep nesting in CQL2 text and JSON, wildcards and escapes."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tests.hostile import payloads as P
from tests.hostile.corpus import (
    STRING_VALUE,
    Case,
    Items,
    Surface,
    ok,
    rotate,
)
from tests.hostile.ogc import LANG, c, url
from tests.hostile.payloads import enc, quoted_literal

WITHIN_LIMITS = "a filter within the limits of length, nodes and nesting"
LIKE_WHY = "a LIKE pattern within the limits (a trailing lone backslash stands for itself)"
JSON_TYPE = (("content-type", "application/json"),)


def size(s: Surface) -> Iterator[Case]:
    huge = {"1e6": "1000000", "18-digits": "9" * 18}
    for it in s.items:
        for name, value in huge.items():
            why = "limit above the maximum is clamped, as Part 1 allows"
            yield ok(
                c(
                    "size",
                    f"limit-{name}:{it.label}",
                    url(it.path, ("limit", value), ("bbox", "0,0,0.001,0.001")),
                ),
                why,
            )
        yield ok(
            c("size", f"offset-huge:{it.label}", url(it.path, ("offset", "9" * 18))),
            "an offset past the end is an empty page",
            empty=True,
        )
        for name, value in {
            "19-digits": "9" * 19,
            "400-digits": "9" * 400,
            "exp": "1e9",
            "hex": "0x10",
            "neg-zero": "-0",
            "float": "10.0",
        }.items():
            yield c("size", f"limit-{name}:{it.label}", url(it.path, ("limit", value)))
            yield c("size", f"offset-{name}:{it.label}", url(it.path, ("offset", value)))
        yield from _long_values(it, s.in_memory)
        yield from _column_edges(it)
    yield from _bboxes(s)


def _column_edges(it: Items) -> Iterator[Case]:
    """Values just past what a column type holds (smallint, integer, bigint, real, dates):
    numbers and dates all the same, matching nothing, whatever the source keeps them in."""
    edges = {
        "smallint": (it.integer, "32768"),
        "integer": (it.integer, "2147483648"),
        "bigint": (it.integer, "9223372036854775808"),
        "bigint-low": (it.integer, "-9223372036854775809"),
        "real": (it.number, "3.5e38"),
        "denormal": (it.number, "4.9e-324"),
        "first-day": (it.date, "0001-01-01"),
        "last-day": (it.date, "9999-12-31"),
    }
    why = "a value past the column's type is a value nothing has"
    for name, (queryable, value) in edges.items():
        as_param = c("size", f"edge-{name}:{it.label}", url(it.path, (queryable, value)))
        yield ok(as_param, why, empty=True)
        literal = value if queryable != it.date else f"DATE('{value}')"
        text = url(it.path, ("filter", enc(f"{queryable} = {literal}")))
        yield ok(c("size", f"edge-{name}-filter:{it.label}", text), why, empty=True)


def _many_terms(it: Items, in_memory: bool) -> Iterator[Case]:
    """OR and IN with many terms. In memory the gateway evaluates OR row by row: 100 terms
    cost ~300 ms per demo city (~900 ms on a busy machine) and up to 1 s on the federated
    root, so files get 30; IN over literals is one set lookup per row, so 400 items are
    asked everywhere."""

    def ors(n: int) -> str:
        return url(it.path, ("filter", enc(" OR ".join(f"{it.string} = 'v{k}'" for k in range(n)))))

    def values(n: int) -> str:
        listed = ",".join(f"'v{k}'" for k in range(n))
        return url(it.path, ("filter", enc(f"{it.string} IN ({listed})")))

    few = 30 if in_memory else 100
    yield ok(c("size", f"or-{few}:{it.label}", ors(few)), WITHIN_LIMITS, empty=True)
    yield ok(c("size", f"in-{few}:{it.label}", values(few)), WITHIN_LIMITS, empty=True)
    yield ok(c("size", f"in-400:{it.label}", values(400)), WITHIN_LIMITS, empty=True)
    yield c("size", f"or-600:{it.label}", ors(600))  # beyond 500 nodes
    yield c("size", f"in-1500:{it.label}", values(1500))


def _long_values(it: Items, in_memory: bool) -> Iterator[Case]:
    for n in (1_000, 10_000, 30_000):
        yield ok(
            c("size", f"long-string-{n}:{it.label}", url(it.path, (it.string, "a" * n))),
            STRING_VALUE,
            empty=True,
        )
    yield c("size", f"long-integer:{it.label}", url(it.path, (it.integer, "9" * 5000)))
    yield c(
        "size", f"long-sortby:{it.label}", url(it.path, ("sortby", ",".join([it.string] * 2000)))
    )
    many = tuple((f"p{k}", "1") for k in range(1000))
    yield c("size", f"many-unknown:{it.label}", url(it.path, *many))
    repeated = tuple((it.string, "a") for _ in range(1000))
    yield c("size", f"many-repeated:{it.label}", url(it.path, *repeated))
    yield ok(
        c("size", f"many-empty:{it.label}", url(it.path) + "?" + "&" * 5000),
        "empty parameters are no parameters",
    )
    yield from _many_terms(it, in_memory)
    padded = enc(f"{it.string} = 'x'") + "+" * 19_000  # spaces as a form encodes them
    yield ok(
        c("size", f"filter-19k:{it.label}", url(it.path, ("filter", padded))),
        "a filter of 19,000 characters is within the limit of 20,000",
        empty=True,
    )
    yield c(
        "size",
        f"filter-25k:{it.label}",
        url(it.path, ("filter", enc(f"{it.string} = '" + "x" * 25_000 + "'"))),
    )
    yield ok(
        c(
            "size",
            f"number-beyond-bigint:{it.label}",
            url(it.path, ("filter", enc(f"{it.integer} > 99999999999999999999999"))),
        ),
        "a number beyond every integer type is still a number",
        empty=True,
    )
    yield ok(
        c(
            "size",
            f"number-max-double:{it.label}",
            url(it.path, ("filter", enc(f"{it.number} > 1.7976931348623157e308"))),
        ),
        "the largest double is a number",
        empty=True,
    )
    yield c(
        "size", f"number-overflow:{it.label}", url(it.path, ("filter", enc(f"{it.number} > 1e400")))
    )
    yield c("size", f"queryable-overflow:{it.label}", url(it.path, (it.number, "1e400")))
    yield ok(
        c("size", f"date-far:{it.label}", url(it.path, ("datetime", "9999-12-31T23:59:59Z/.."))),
        "the last second of year 9999 is a valid instant",
        empty=True,
    )
    yield c("size", f"date-year-5-digits:{it.label}", url(it.path, ("datetime", "99999-01-01")))


def _bboxes(s: Surface) -> Iterator[Case]:
    bad = {
        "max-double": "1.7976931348623157e308," * 3 + "1.7976931348623157e308",
        "overflow": "1e400,0,1e400,1",
        "nan": "nan,nan,nan,nan",
        "inf": "-inf,-inf,inf,inf",
        "1000-numbers": ",".join(["1"] * 1000),
        "long-number": "1" * 5000 + ",0,1,1",
        "crossed-lat": "0,10,1,-10",
    }
    good = {
        "whole-world": "-180,-90,180,90",
        "denormal": "0,0,5e-324,5e-324",
        "antimeridian": "179,-90,-179,90",
        "huge-heights": "-180,-90,-1e308,180,90,1e308",
        "point": "10,53.5,10,53.5",
    }
    for i, (name, value) in enumerate(bad.items()):
        it = rotate(s.items, i)
        yield c("size", f"bbox-{name}:{it.label}", url(it.path, ("bbox", value)))
        projected = url(
            it.path,
            ("bbox", value),
            ("bbox-crs", enc("http://www.opengis.net/def/crs/EPSG/0/25832")),
        )
        yield c("size", f"bbox-25832-{name}:{it.label}", projected)
    for i, (name, value) in enumerate(good.items()):
        it = rotate(s.items, i)
        yield ok(
            c("size", f"bbox-{name}:{it.label}", url(it.path, ("bbox", value), ("limit", "5"))),
            "a valid bbox in CRS84",
        )
    for i, value in enumerate(
        ("-1e300,-1e300,1e300,1e300", "0,0,1e20,1e20", "-1e15,-1e15,-1e14,-1e14")
    ):
        it = rotate(s.items, i)
        target = url(
            it.path,
            ("bbox", value),
            ("bbox-crs", enc("http://www.opengis.net/def/crs/EPSG/0/25832")),
        )
        yield c("size", f"bbox-25832-far-{i}:{it.label}", target)


def depth(s: Surface) -> Iterator[Case]:
    for i, it in enumerate(s.items):
        eq = f"{it.string} = 'x'"
        for n in (5, 25):
            yield ok(
                c(
                    "depth",
                    f"parens-{n}:{it.label}",
                    url(it.path, ("filter", enc("(" * n + eq + ")" * n))),
                ),
                f"{n} parentheses are within the filter's nesting limit",
                empty=True,
            )
        for n in (100, 1000, 5000):
            nested = "(" * n + eq + ")" * n
            yield c("depth", f"parens-{n}:{it.label}", url(it.path, ("filter", enc(nested))))
        yield c("depth", f"unbalanced:{it.label}", url(it.path, ("filter", enc("(" * 3000 + eq))))
        yield c(
            "depth", f"not-chain-1000:{it.label}", url(it.path, ("filter", enc("NOT " * 1000 + eq)))
        )
        chain = eq
        for k in range(200):
            chain = f"({it.string} = 'v{k}' AND {chain})"
        yield c("depth", f"and-chain-200:{it.label}", url(it.path, ("filter", enc(chain))))
        arith = "1" + "+(1" * 300 + ")" * 300
        yield c(
            "depth",
            f"arithmetic-300:{it.label}",
            url(it.path, ("filter", enc(f"{it.integer} = {arith}"))),
        )
        casei = "CASEI(" * 100 + it.string + ")" * 100
        yield c("depth", f"casei-100:{it.label}", url(it.path, ("filter", enc(f"{casei} = 'x'"))))
        yield from _json_depth(it, i)


def _json_depth(it, i: int) -> Iterator[Case]:  # type: ignore[no-untyped-def]
    leaf = json.dumps({"op": "=", "args": [{"property": it.string}, "x"]})
    for n in (10, 40, 500, 3000):
        doc = '{"op":"not","args":[' * n + leaf + "]}" * n
        name = f"json-not-{n}:{it.label}"
        if n == 10:
            why = "ten NOTs are within the filter's nesting limit"
            yield ok(c("depth", name, url(it.path, LANG, ("filter", enc(doc)))), why, empty=True)
        elif n < 1000:
            yield c("depth", name, url(it.path, LANG, ("filter", enc(doc))))
        else:
            yield c("depth", name, it.path, method="POST", body=doc.encode(), headers=JSON_TYPE)
    for n in (40, 2000):
        array = "[" * n + "1" + "]" * n
        raw = '{"op":"=","args":[{"property":"' + it.string + '"},' + array + "]}"
        yield c("depth", f"json-array-{n}:{it.label}", url(it.path, LANG, ("filter", enc(raw))))
        body = raw.encode()
        yield c(
            "depth",
            f"json-body-{n}:{it.label}",
            it.path,
            method="POST",
            body=body,
            headers=(("content-type", "application/json"),),
        )
    objects = '{"a":' * 5000 + "1" + "}" * 5000
    yield c(
        "depth",
        f"json-objects-5000:{it.label}",
        it.path,
        method="POST",
        body=objects.encode(),
        headers=(("content-type", "application/json"),),
    )


def patterns(s: Surface) -> Iterator[Case]:
    likes = {
        "percent": ("%", False),
        "percent-60": ("%" * 60, False),
        "underscore-40": ("_" * 40, True),
        "escaped-percent": ("\\%", True),
        "escaped-underscore": ("Tilia\\_", True),
        "trailing-escape": ("abc\\", True),
        "lone-escape": ("\\", True),
        "brackets": ("[a-z]%", True),
        "regex": ("^(a+)+$", True),
        "sql-escape": ("a' ESCAPE '!", True),
    }
    # beyond server.query.like_wildcards (64) and like_length (1,000): a 400 naming the limit
    bad = {
        "nul": "%\x00%",
        "wildcards-65": "%a" * 65,
        "underscore-5000": "_" * 5000,
        "long-literal": "x" * 1500,
    }
    for it in s.items:
        for name, (pattern, empty) in likes.items():
            for form, text in (
                ("plain", f"{it.string} LIKE "),
                ("casei", f"CASEI({it.string}) LIKE CASEI("),
            ):
                lit = P.text(name, pattern)
                close = enc(")") if form == "casei" else ""
                target = url(
                    it.path, ("filter", enc(text) + quoted_literal(lit) + close), ("limit", "5")
                )
                case = c("patterns", f"like-{form}-{name}:{it.label}", target)
                yield ok(case, LIKE_WHY, empty=empty)
        for name, pattern in bad.items():
            lit = P.text(name, pattern)
            target = url(it.path, ("filter", enc(f"{it.string} LIKE ") + quoted_literal(lit)))
            yield c("patterns", f"like-{name}:{it.label}", target)
        # the 9,000 wildcards, as a body (in a URL they pass the URL limit)
        huge = {
            "op": "like",
            "args": [
                {"op": "casei", "args": [{"property": it.string}]},
                {"op": "casei", "args": ["%a" * 9000 + "%b"]},
            ],
        }
        body = json.dumps(huge).encode()
        yield c(
            "patterns",
            f"like-9000-wildcards:{it.label}",
            it.path,
            method="POST",
            body=body,
            headers=JSON_TYPE,
        )
