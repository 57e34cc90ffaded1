"""Small helpers on the raw header lists of ASGI messages (lists of (bytes, bytes) pairs,
names in lower case as servers and Starlette send them)."""

from __future__ import annotations

from collections.abc import Iterable

RawHeaders = list[tuple[bytes, bytes]]


def get(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of `name` (lower case), or None."""
    return next((v for k, v in headers if k.lower() == name), None)


def without(headers: Iterable[tuple[bytes, bytes]], *names: bytes) -> RawHeaders:
    return [(k, v) for k, v in headers if k.lower() not in names]


def replace(headers: Iterable[tuple[bytes, bytes]], name: bytes, value: bytes) -> RawHeaders:
    return [*without(headers, name), (name, value)]


def add_vary(headers: RawHeaders, *names: str) -> RawHeaders:
    """`Vary` with `names` added once each (merged into one field; `*` stays `*`)."""
    present = [
        part.strip()
        for k, v in headers
        if k.lower() == b"vary"
        for part in v.decode("latin-1").split(",")
        if part.strip()
    ]
    if "*" in present:
        return headers
    known = {p.lower() for p in present}
    merged = present + [n for n in names if n.lower() not in known]
    if len(merged) == len(present) and sum(k.lower() == b"vary" for k, _ in headers) <= 1:
        return headers
    return replace(headers, b"vary", ", ".join(merged).encode("latin-1"))
