"""Times as the store keeps them (integer microseconds since 1970-01-01 UTC) and as STA
writes them (ISO 8601 in UTC; an interval as `start/end`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from gateway.sensorthings.errors import InvalidBody

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = 1_000_000


def micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * _SECOND + delta.microseconds


def iso(us: int | None) -> str | None:
    return None if us is None else _iso(us)


@lru_cache(maxsize=4096)  # a page's Observations share times (phenomenon = result time)
def _iso(us: int) -> str:
    whole, fraction = divmod(us, _SECOND)
    moment = _NAIVE_EPOCH + timedelta(seconds=whole)
    # isoformat is C and six times faster than strftime (every time of every Observation
    # goes through here); strftime kept where it differs (years before 1000, unpadded)
    text = moment.isoformat() if moment.year >= 1000 else moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += f".{fraction:06d}".rstrip("0")
    return text + "Z"


def interval(start: int | None, end: int | None) -> str | None:
    if start is None:
        return None
    if end is None or end == start:
        return iso(start)
    return f"{iso(start)}/{iso(end)}"


def parse_instant(text: str, name: str) -> int:
    if not isinstance(text, str):
        raise InvalidBody(f"{name}: expected an ISO 8601 date-time string")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidBody(f"{name}: '{text}' is not an ISO 8601 date-time") from None
    return micros(value)


def parse_time(text: str, name: str) -> tuple[int, int]:
    """An instant or an interval `start/end` as (start, end) microseconds."""
    if isinstance(text, str) and "/" in text:
        first, _, second = text.partition("/")
        start, end = parse_instant(first, name), parse_instant(second, name)
        if end < start:
            raise InvalidBody(f"{name}: the interval ends before it starts")
        return start, end
    value = parse_instant(text, name)
    return value, value
