"""Small helpers on the raw header lists of ASGI messages (lists of (bytes, bytes) pairs,
names in lower case as servers and Starlette send them)."""

from __future__ import annotations

from collections.abc import Iterable

RawHeaders = list[tuple[bytes, bytes]]


def get(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of `name` (lower case), or None. (A loop: a third cheaper than
    next() over a generator, and every answer passes here several times.)"""
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def without(headers: Iterable[tuple[bytes, bytes]], *names: bytes) -> RawHeaders:
    return [(k, v) for k, v in headers if k.lower() not in names]


def replace(headers: Iterable[tuple[bytes, bytes]], name: bytes, value: bytes) -> RawHeaders:
    return [*without(headers, name), (name, value)]


def add_vary(headers: RawHeaders, *names: str) -> RawHeaders:
    """`Vary` with `names` added once each (merged into one field; `*` stays `*`)."""
    fields = [v for k, v in headers if k.lower() == b"vary"]
    present = [p.strip() for v in fields for p in v.decode("latin-1").split(",") if p.strip()]
    if "*" in present:
        return headers
    known = {p.lower() for p in present}
    missing = [n for n in names if n.lower() not in known]
    if not missing and len(fields) <= 1:
        return headers
    return replace(headers, b"vary", ", ".join(present + missing).encode("latin-1"))
