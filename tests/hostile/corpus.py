"""The shape of the corpus: a `Case` is one request and what its answer must be; a `Surface`
names what a target serves (items endpoints with their queryables, SensorThings roots,
pages), so the same templates build cases for files, PostGIS and an upstream server.

Every case expects a 4xx, or a 2xx with the reason the hostile-looking request is in fact
valid (`why`); `empty` says a valid answer must select nothing (SQL text in a string literal
is a string that matches no tree).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

T = TypeVar("T")
MAX_TARGET = 32_000  # within server.max_url_length (32768) with the request line around it
CATEGORIES = ("injection", "size", "depth", "encoding", "nul", "patterns", "paths", "headers")

# Why a hostile-looking request is valid, by kind (shared by many cases).
STRING_VALUE = "a string compared for equality: SQL or markup in it is text that matches nothing"
LITERAL = "a string literal: its content is data and matches nothing"
UNICODE = "any Unicode text is a valid string value; it matches nothing"
IGNORED_HEADER = "the header is advisory or not ours to act on: the request is answered as usual"
MATCHES = "If-None-Match: * matches any current answer: 304 where it has an ETag, else as usual"
UNTRUSTED = "forwarded headers from an untrusted peer are ignored: links keep the real host"


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    facade: str  # "ogc" | "sta": whose error shape a 4xx must have
    target: str  # path and query as sent on the wire (ASCII, percent-encoded)
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()  # values encoded as latin-1 on the wire
    body: bytes = b""
    expect: str = "4xx"  # or "2xx"
    why: str = ""  # for a 2xx: why the request is valid
    status: int | None = None  # when the exact status matters
    empty: bool = False  # a 2xx must select nothing
    absent: tuple[str, ...] = ()  # text the answer must not contain (a forged host)
    not_modified: bool = False  # a 2xx case whose condition may also answer 304
    xfail: str | None = None  # pending on another branch: reason

    def __post_init__(self) -> None:
        assert self.category in CATEGORIES, self.category
        assert self.expect in ("4xx", "2xx"), self.expect
        assert self.expect != "2xx" or self.why, f"{self.id}: a 2xx case says why it is valid"
        assert self.target.isascii() and " " not in self.target, self.target[:80]
        # `twinbridge serve` refuses longer URLs itself (414): such cases belong to test_edge
        assert len(self.target) <= MAX_TARGET, f"{self.id}: {len(self.target)} bytes"

    @property
    def id(self) -> str:
        return f"{self.category}:{self.facade}:{self.name}"


def ok(
    case: Case,
    why: str,
    *,
    empty: bool = False,
    absent: tuple[str, ...] = (),
    not_modified: bool = False,
) -> Case:
    """The case as a valid request: a 2xx (or, `not_modified`, a 304 where the answer has
    an ETag), for the reason given."""
    return replace(
        case,
        expect="2xx",
        why=why,
        empty=empty,
        absent=case.absent + absent,
        not_modified=not_modified,
    )


@dataclass(frozen=True)
class Items:
    """An items endpoint and the queryables the templates use, one of each kind."""

    label: str
    path: str  # ".../collections/{id}/items"
    string: str
    integer: str
    number: str
    date: str
    item: str  # an id that exists, on the wire

    @property
    def collection(self) -> str:
        return self.path.rsplit("/", 1)[0]


@dataclass(frozen=True)
class StaRoot:
    label: str
    root: str  # ".../sta/v1.1"
    thing: str  # an existing Thing's key as it goes in parentheses: 1 or 'hamburg:1'
    writable: bool = False  # takes writes with the API key
    federated: bool = False  # ids are 'tenant:id' strings
    proxied: bool = False  # the query is passed on to an upstream server


@dataclass(frozen=True)
class Surface:
    label: str
    items: tuple[Items, ...] = ()
    sta: tuple[StaRoot, ...] = ()
    tenants: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()  # OGC pages beyond the items endpoints, for f=html
    api_key: str | None = None
    in_memory: bool = False  # files: the gateway evaluates what no index serves, row by row
    notes: dict[str, str] = field(default_factory=dict)


def rotate(items: Sequence[T], i: int) -> T:
    """The i-th of `items`, round and round: spreads payloads over endpoints."""
    return items[i % len(items)]


def unique(cases: Iterable[Case]) -> list[Case]:
    """The cases, checked for unique ids (pytest ids, and the report's names)."""
    out, seen = [], set()
    for case in cases:
        assert case.id not in seen, f"duplicate case id {case.id}"
        seen.add(case.id)
        out.append(case)
    return out
