"""The hostile values the corpus puts into every kind of slot, as fixed lists (the corpus is
the same on every run).

A `Payload` is a name and its form on the wire: already percent-encoded ASCII, so values that
are not valid UTF-8 at all (`%FF`, overlong sequences, encoded surrogates) travel exactly as a
hostile client sends them. `text()` builds one from a Python string.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Payload:
    name: str
    wire: str  # percent-encoded, safe to put anywhere in a URL
    raw: str | None = None  # the text itself, when it is text (not for invalid UTF-8)

    def __post_init__(self) -> None:
        assert self.wire.isascii() and " " not in self.wire, self.wire


def text(name: str, value: str) -> Payload:
    return Payload(name, enc(value), value)


def enc(value: str) -> str:
    """Percent-encode everything but unreserved characters (UTF-8)."""
    return quote(value, safe="-._~")


def quoted_literal(p: Payload) -> str:
    """`p` inside a single-quoted CQL2/OData string literal, on the wire (quotes doubled)."""
    return enc("'") + p.wire.replace("%27", "%27%27") + enc("'")


SQL = [
    text("or-true", "' OR '1'='1"),
    text("or-comment", "' OR 1=1 --"),
    text("drop", "'; DROP TABLE trees; --"),
    text("sleep", "1; SELECT pg_sleep(10) --"),
    text("union", "' UNION SELECT version(), current_user --"),
    text("paren", "') OR ('a'='a"),
    text("backslash", "\\' OR 1=1 #"),
    text("like-or", "%' OR genus LIKE '%"),
    text("subselect", "' || (SELECT string_agg(datname, ',') FROM pg_database) || '"),
    text("dollar", "$$ OR $$1$$=$$1"),
    text("escape-string", "E'\\x27' OR TRUE"),
    text("sqlite-master", "1' AND (SELECT COUNT(*) FROM sqlite_master) > 0 --"),
    text("attach", "'; ATTACH DATABASE '/tmp/x.db' AS x; --"),
    text("double-quote", '" OR ""="'),
    text("comment", "*/ OR /* 1=1"),
    text("sleep-and", "' AND pg_sleep(5) IS NULL AND 'a'='a"),
    text("bare-or", "1 OR 1=1"),
    text("admin", "admin'--"),
]

# Markup an HTML page must never echo as markup; every one carries an `hx` marker that
# `checks.unescaped_markup` looks for.
XSS = [
    text("script", "<script>hx()</script>"),
    text("img", '"><img src=x onerror=hx()>'),
    text("svg", "'><svg onload=hx()>"),
    text("title", "</title><b>hx</b>"),
    text("attr", '" onmouseover="hx()" x="'),
    text("comment", "<!--hx--><p>"),
    text("javascript-url", "javascript:hx()"),
    text("iframe", "<iframe src=//evil.example/hx>"),
    text("template", "{{hx}}${hx}<%=hx%>"),
]

# Property names in the shapes other query languages use for paths.
NAMES = [
    text("pointer", "/properties/genus"),
    text("pointer-escape", "/properties~1genus"),
    text("slash-path", "properties/genus"),
    text("jsonpath", "$.genus"),
    text("jsonpath-deep", "$..*"),
    text("fragment", "#/genus"),
    text("parent", "../genus"),
    text("xpath-any", "//*"),
    text("xpath-index", "/*[1]"),
    text("xpath-fn", "genus/text()"),
    text("xpath-attr", "@genus"),
    text("xpath-pred", "genus[@x='1']"),
    text("bracket", "genus[0]"),
    text("dotted", "properties.genus"),
    text("sql-column", 'genus" FROM trees --'),
    text("star", "*"),
]

CQL2_FUNCTIONS = [
    "pg_sleep",
    "version",
    "current_user",
    "lower",
    "upper",
    "dblink",
    "lo_import",
    "pg_read_file",
    "load_extension",
    "sqlite_version",
    "system",
    "eval",
    "__import__",
    "ST_AsText",
    "ST_Buffer",
    "S_INTERSECTSX",
    "casei_",
    "a" * 300,
]

ODATA_FUNCTIONS = [
    "pg_sleep(1) eq 1",
    "version() eq 'x'",
    "system('ls') eq 1",
    "eval(name) eq 1",
    "current_user eq 'postgres'",
    "lower(name) eq 'x'",
    "st_buffer(location, 1) eq 1",
    "geo.intersects(location) eq true",
    "substringof(name) eq true",
    "concat(name, name, name) eq 'x'",
    "cast(name, Edm.Int32) eq 1",
    "isof(name, Edm.String)",
    "load_extension('x') eq 1",
    "now(1) eq now()",
    "length() eq 1",
]

# Characters and byte sequences beyond plain UTF-8 text. Invalid ones decode to U+FFFD.
ENCODINGS = [
    Payload("invalid-ff", "%FF"),
    Payload("invalid-fe-ff", "a%FE%FFb"),
    Payload("lone-continuation", "%80%80"),
    Payload("truncated", "a%C3"),
    Payload("overlong-slash", "%C0%AF"),
    Payload("overlong-3", "%E0%80%AF"),
    Payload("overlong-nul", "%C0%80"),
    Payload("surrogate-high", "%ED%A0%80"),
    Payload("surrogate-pair", "%ED%A0%BD%ED%B8%80"),
    Payload("beyond-unicode", "%F4%90%80%80"),
    Payload("five-byte", "%F8%88%80%80%80"),
    Payload("bad-escape", "%ZZ%G1%"),
    Payload("iis-escape", "%u0027"),
    Payload("double-escape", "%2527"),
    text("bom", "\ufeffTilia"),
    text("nfd", "Linde\u0301"),
    text("ligature", "\ufb01cus"),
    text("fullwidth-quote", "\uff07 OR 1=1"),
    text("fullwidth-digits", "\uff11\uff19\uff19\uff10"),
    text("rtl-override", "\u202eailiT"),
    text("zero-width", "Ti\u200bl\u200di\u200ca"),
    text("line-separator", "Tilia\u2028x"),
    text("combining-stack", "T" + "\u0301" * 500),
    text("emoji", "\U0001f333\U0001f333"),
    text("private-use", "\ue000\U000f0000"),
    text("noncharacter", "\ufffe\uffff"),
    text("replacement", "\ufffd"),
]

CONTROLS = [
    text("nul", "a\x00b"),
    text("nul-only", "\x00"),
    text("soh", "a\x01b"),
    text("bell", "a\x07"),
    text("backspace", "ab\x08\x08"),
    text("tab-vt-ff", "a\t\x0b\x0c"),
    text("crlf", "a\r\nSet-Cookie: hx=1"),
    text("ansi", "\x1b[31mred\x1b[0m"),
    text("del", "a\x7f"),
    text("nel", "a\x85b"),
    text("c1", "\x9b31m"),
]

LONG_ID = "x" * 20_000
IDS = [
    text("quote", "1'"),
    text("quotes", "'; DROP TABLE trees; --"),
    text("double-quote", '1"'),
    text("traversal", "../../../../etc/passwd"),
    text("backslash", "..\\..\\windows\\win.ini"),
    Payload("encoded-traversal", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
    Payload("double-encoded", "%252e%252e%252f"),
    text("negative", "-1"),
    text("huge", "9" * 40),
    text("float", "1.0e308"),
    text("empty-parens", "()"),
    text("long", LONG_ID),
    text("xss", "<script>hx()</script>"),
    text("sql-num", "1 OR 1=1"),
    text("unicode", "\u0661\u0662"),
]
