"""Cases for the SensorThings facade over a surface's service roots (federated and tenant):
system query options, OData literals, functions and paths, ids, bodies and headers."""

from __future__ import annotations

import base64
from collections.abc import Iterator

from tests.hostile import payloads as P
from tests.hostile.corpus import (
    LITERAL,
    Case,
    StaRoot,
    Surface,
    ok,
    rotate,
)
from tests.hostile.ogc import url
from tests.hostile.payloads import enc, quoted_literal

OPTIONS = ("$orderby", "$select", "$expand", "$top", "$skip", "$count", "$filter", "$skiptoken")
CONSTANTS = "two string literals: the order of constants, a valid (if useless) $orderby"
PROPERTY_PATH = "properties/genus is a path into a Thing's properties"
REPEATED = "a relation or property named twice is one"
SETS = ("Things", "Datastreams", "Observations", "Locations", "Sensors", "ObservedProperties")


def c(category: str, name: str, target: str, **kw: object) -> Case:
    return Case(category, name, "sta", target, **kw)  # type: ignore[arg-type]


def q(name: str) -> str:
    return enc(name)  # `$` travels encoded, as clients send it


def name_eq(r: StaRoot, literal: str, entity: str = "Things") -> str:
    return url(f"{r.root}/{entity}", (q("$filter"), enc("name eq ") + literal))


def _tokens(s: Surface) -> Iterator[Case]:
    """Forged continuation tokens: the federated view's is base64 JSON the client sends back."""
    forged = {
        "negative": '{"i":-100,"c":{}}',
        "last": '{"i":-1,"c":{}}',
        "bool": '{"i":true,"c":{}}',
        "huge": '{"i":99999999999999999999999,"c":{}}',
        "float": '{"i":1.5,"c":{}}',
        "array": "[1,2]",
        "options": '{"i":0,"c":{"$skip":"-1"}}',
        "skip-filter": '{"i":0,"c":{"$skipFilter":"(id gt 1) or true; DROP"}}',
        "not-json": "' OR 1=1 --",
    }
    for r in s.sta:
        if not r.federated:
            continue
        for name, state in forged.items():
            token = "fed." + base64.urlsafe_b64encode(state.encode()).decode().rstrip("=")
            yield c(
                "injection",
                f"skiptoken-{name}:{r.label}",
                url(f"{r.root}/Things", (q("$skiptoken"), token)),
            )
        past = "fed." + base64.urlsafe_b64encode(b'{"i":7,"c":{}}').decode().rstrip("=")
        why = "a position past the last tenant: the end, an empty page"
        deep = '{"i":0,"c":' + '{"a":' * 500 + "1" + "}" * 501
        custom = "fed." + base64.urlsafe_b64encode(deep.encode()).decode().rstrip("=")
        yield ok(
            c(
                "injection",
                f"skiptoken-deep:{r.label}",
                url(f"{r.root}/Things", (q("$skiptoken"), custom)),
            ),
            "what is no system option is ignored, as OData's custom parameters are: page one",
        )
        yield ok(
            c(
                "injection",
                f"skiptoken-past:{r.label}",
                url(f"{r.root}/Things", (q("$skiptoken"), past)),
            ),
            why,
            empty=True,
        )


def injection(s: Surface) -> Iterator[Case]:
    yield from _tokens(s)
    for r in s.sta:
        for p in P.SQL:
            key = f"{r.label}:{p.name}"
            yield ok(
                c("injection", f"sql-literal:{key}", name_eq(r, quoted_literal(p))),
                LITERAL,
                empty=True,
            )
    functions = (
        "substringof({lit}, name)",
        "startswith(name, {lit})",
        "endswith(description, {lit})",
        "tolower(name) eq {lit}",
        "concat(name, {lit}) eq 'x'",
        "indexof(name, {lit}) eq 0",
    )
    for i, p in enumerate(P.SQL):
        r = rotate(s.sta, i)
        key = f"{r.label}:{p.name}"
        expr = rotate(functions, i).replace("{lit}", "@")
        head, tail = enc(expr).split("%40")
        target = url(
            f"{r.root}/{rotate(SETS[:2], i)}", (q("$filter"), head + quoted_literal(p) + tail)
        )
        yield ok(c("injection", f"sql-function-literal:{key}", target), LITERAL, empty=True)
        for j in range(2):
            option = rotate(OPTIONS, i * 2 + j)
            case = c(
                "injection",
                f"sql-option-{option[1:]}:{key}",
                url(f"{r.root}/Things", (q(option), p.wire)),
            )
            yield ok(case, CONSTANTS) if (option, p.name) == ("$orderby", "subselect") else case
        yield c("injection", f"sql-id-bare:{key}", f"{r.root}/Things({p.wire})")
        yield c("injection", f"sql-id-quoted:{key}", f"{r.root}/Things({quoted_literal(p)})")
        yield c("injection", f"sql-member:{key}", f"{r.root}/Things({r.thing})/{p.wire}")
        yield c("injection", f"sql-set:{key}", f"{r.root}/{p.wire}")
        yield c(
            "injection",
            f"sql-result-format:{key}",
            url(f"{r.root}/Observations", (q("$resultFormat"), p.wire)),
        )
    for i, text in enumerate(P.ODATA_FUNCTIONS):
        r = rotate(s.sta, i)
        target = url(f"{r.root}/Things", (q("$filter"), enc(text)))
        yield c("injection", f"odata-function:{r.label}:{i}", target)
    for i, p in enumerate(P.NAMES):
        r = rotate(s.sta, i)
        key = f"{r.label}:{p.name}"
        path_ok = p.name == "slash-path"  # properties/genus: a path into Thing's properties
        for option, tail in (("$select", ""), ("$orderby", ""), ("$filter", " eq 1")):
            case = c(
                "injection",
                f"name-{option[1:]}:{key}",
                url(f"{r.root}/Things", (q(option), p.wire + enc(tail))),
            )
            yield ok(case, PROPERTY_PATH, empty=option == "$filter") if path_ok else case
        yield c("injection", f"name-expand:{key}", url(f"{r.root}/Things", (q("$expand"), p.wire)))
    for i, p in enumerate(P.XSS):
        r = rotate(s.sta, i)
        key = f"{r.label}:{p.name}"
        yield ok(
            c("injection", f"markup-literal:{key}", name_eq(r, quoted_literal(p))),
            LITERAL,
            empty=True,
        )
        yield c(
            "injection", f"markup-select:{key}", url(f"{r.root}/Things", (q("$select"), p.wire))
        )
        yield c("injection", f"markup-set:{key}", f"{r.root}/{p.wire}")


def size(s: Surface) -> Iterator[Case]:
    for r in s.sta:
        things = f"{r.root}/Things"
        for name, value in {
            "19-digits": "9" * 19,
            "400-digits": "9" * 400,
            "negative": "-1",
            "exp": "1e3",
            "hex": "0x10",
            "float": "1.5",
        }.items():
            yield c("size", f"top-{name}:{r.label}", url(things, (q("$top"), value)))
            yield c("size", f"skip-{name}:{r.label}", url(things, (q("$skip"), value)))
        yield ok(
            c(
                "size",
                f"top-huge:{r.label}",
                url(things, (q("$top"), "9" * 18), (q("$filter"), enc("name eq 'nothing'"))),
            ),
            "a $top above the server's maximum is clamped",
            empty=True,
        )
        yield ok(
            c("size", f"skip-huge:{r.label}", url(things, (q("$skip"), "9" * 18))),
            "a $skip past the end is an empty page",
            empty=True,
        )
        yield ok(
            c("size", f"long-literal:{r.label}", name_eq(r, enc("'" + "a" * 20000 + "'"))),
            LITERAL,
            empty=True,
        )
        for n in (40, 900):
            ors = " or ".join(f"name eq 'v{k}'" for k in range(n))
            yield ok(
                c("size", f"or-{n}:{r.label}", url(things, (q("$filter"), enc(ors)))),
                f"{n} comparisons fit the URL and the expression limits",
                empty=True,
            )
        plus = c(
            "size", f"long-literal-spaces:{r.label}", name_eq(r, enc("'") + "+" * 30_000 + enc("'"))
        )
        # passed on, each + becomes %20: 90,000 bytes, refused before it is sent
        yield plus if r.proxied else ok(plus, LITERAL, empty=True)
        yield c(
            "size",
            f"many-unknown:{r.label}",
            url(things, *((q(f"$x{k}"), "1") for k in range(1000))),
        )
        yield c(
            "size", f"many-repeated:{r.label}", url(things, *((q("$top"), "1") for _ in range(500)))
        )
        expand = ",".join(["Datastreams", "Locations", "HistoricalLocations"] * 40)
        yield ok(c("size", f"expand-wide:{r.label}", url(things, (q("$expand"), expand))), REPEATED)
        select = ",".join(["name"] * 3000)
        yield ok(c("size", f"select-long:{r.label}", url(things, (q("$select"), select))), REPEATED)
        orderby = ",".join(["name"] * 3000)
        yield c("size", f"orderby-long:{r.label}", url(things, (q("$orderby"), orderby)))
        numbers = {
            "result-max": ("result gt 1.7976931348623157e308", "the largest double is a number"),
            "result-overflow": ("result gt 1e400", None),
            "id-5000-digits": ("id eq " + "9" * 5000, None),
            "id-beyond-bigint": (
                "id eq 99999999999999999999",
                None if r.federated else "an id beyond BIGINT is a number no entity has",
            ),
            "result-int-overflow": (
                "result add 9223372036854775807 add 1 gt 5",
                "arithmetic beyond 64 bits goes on in floating point: all results",
            ),
        }
        for name, (expr, why) in numbers.items():
            target = url(f"{r.root}/Observations", (q("$filter"), enc(expr)))
            case = c("size", f"{name}:{r.label}", target)
            yield ok(case, why, empty=name != "result-int-overflow") if why else case


def depth(s: Surface) -> Iterator[Case]:
    for r in s.sta:
        things = f"{r.root}/Things"
        eq = "name eq 'x'"
        yield ok(
            c(
                "depth",
                f"parens-10:{r.label}",
                url(things, (q("$filter"), enc("(" * 10 + eq + ")" * 10))),
            ),
            "ten parentheses are within the expression depth limit",
            empty=True,
        )
        for n in (100, 1000, 5000):
            yield c(
                "depth",
                f"parens-{n}:{r.label}",
                url(things, (q("$filter"), enc("(" * n + eq + ")" * n))),
            )
        yield c(
            "depth", f"not-1000:{r.label}", url(things, (q("$filter"), enc("not " * 1000 + eq)))
        )
        yield c("depth", f"unbalanced:{r.label}", url(things, (q("$filter"), enc("(" * 3000 + eq))))
        nested_fn = "tolower(" * 200 + "name" + ")" * 200
        yield c(
            "depth",
            f"function-200:{r.label}",
            url(things, (q("$filter"), enc(f"{nested_fn} eq 'x'"))),
        )
        arith = "1" + " add (1" * 300 + ")" * 300
        yield c(
            "depth",
            f"arithmetic-300:{r.label}",
            url(f"{r.root}/Observations", (q("$filter"), enc(f"result eq {arith}"))),
        )
        hop = ["Datastreams", "Thing"]
        for n in (4, 11, 200):
            path = "/".join(hop[k % 2] for k in range(n))
            case = c("depth", f"expand-path-{n}:{r.label}", url(things, (q("$expand"), path)))
            yield ok(case, "an $expand path of four hops is within the limit") if n == 4 else case
        for n in (3, 11, 200):
            text = "Thing"
            for k in range(n):
                text = f"{hop[k % 2]}($expand={text})"
            case = c(
                "depth", f"expand-nested-{n}:{r.label}", url(things, (q("$expand"), enc(text)))
            )
            yield ok(case, "three nested $expand are within the limit") if n == 3 else case
        lam = "d/name eq 'x'"
        for _ in range(30):
            lam = f"d/Thing/Datastreams/any(d: {lam})"
        yield c(
            "depth",
            f"lambda-30:{r.label}",
            url(things, (q("$filter"), enc(f"Datastreams/any(d: {lam})"))),
        )
        deep = "properties/" + "/".join(["a"] * 500)
        yield c(
            "depth",
            f"property-path-500:{r.label}",
            url(things, (q("$filter"), enc(f"{deep} eq 1"))),
        )
