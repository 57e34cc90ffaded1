"""Validators and the conditions of RFC 9110 §13 that a GET or HEAD may carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

# what the compression layer appends to the ETag of a compressed answer
CODING_SUFFIXES = ("-gzip", "-br", "-zstd")


@dataclass(frozen=True)
class Validator:
    """What the HTTP caching headers of one request's answer are built from."""

    etag: str | None  # quoted strong entity tag; None: the answer has no version
    last_modified: datetime | None
    cache_control: str
    vary: str  # "" when the answer is the same whatever the request's Accept
    cache_key: str | None = None  # the response cache's key; None: not kept
    ttl: float | None = None  # how long the response cache may keep it (None: by version)

    def headers(self, *, validators: bool = True) -> list[tuple[bytes, bytes]]:
        """Cache-Control and Vary always; ETag and Last-Modified with `validators`."""
        out = [(b"cache-control", self.cache_control.encode())]
        if self.vary:
            out.append((b"vary", self.vary.encode()))
        if validators and self.etag is not None:
            out.append((b"etag", self.etag.encode()))
        if validators and self.last_modified is not None:
            out.append((b"last-modified", http_date(self.last_modified).encode()))
        return out


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def entity_tags(header: str) -> list[str]:
    """The opaque tags of an If-None-Match list (weak ones without their W/: a GET
    compares weakly). `*` comes back as itself."""
    tags = []
    for part in header.split(","):
        part = part.strip()
        if part.startswith("W/"):
            part = part[2:]
        if part == "*" or (len(part) >= 2 and part[0] == part[-1] == '"'):
            tags.append(part)
    return tags


def none_match(header: str, etag: str) -> bool:
    """True when If-None-Match names `etag` (or its compressed variants): not modified."""
    bare = etag.strip('"')
    for tag in entity_tags(header):
        opaque = tag.strip('"')
        if opaque == bare or any(opaque == bare + s for s in CODING_SUFFIXES):
            return True
    return False


def names(header: str, etag: str) -> bool:
    """True when If-None-Match names exactly `etag` (as sent, with any coding suffix) or is
    `*`: what a kept answer is compared with, since its tag is the one this client gets."""
    return any(tag in ("*", etag) for tag in entity_tags(header))


def not_modified_since(header: str, last_modified: datetime) -> bool:
    """If-Modified-Since: true when the answer has not changed since the date sent. An
    invalid date is ignored (RFC 9110 §13.1.3), and so is one later than now: no client
    can have seen the answer then, and a clock far ahead must not freeze it."""
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if since > datetime.now(UTC):
        return False
    return last_modified.replace(microsecond=0) <= since
