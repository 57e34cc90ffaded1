"""Query parameters of OGC API – Features Part 1, one small pure function each.

Each raises InvalidParameter naming the parameter, so every malformed value becomes a 400
with a message a client developer can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from starlette.datastructures import QueryParams

from connectors.filters import GEOMETRY  # the primary geometry's name in /schema
from gateway.errors import InvalidParameter, UnknownParameter
from gateway.query.model import BBox, Interval, SortKey

FORMATS = ("json", "html")
ITEM_FORMATS = ("json", "jsonfg", "html")  # items and item also speak JSON-FG
_INTEGER = re.compile(r"^\+?[0-9]{1,18}$")
MAX_OFFSET = 10**18 - 1  # what _INTEGER admits, stated as the OpenAPI maximum
_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_DATE_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt]?$")
MICROSECOND = timedelta(microseconds=1)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

# The grammar of `datetime`, also published as the parameter's `pattern` in the OpenAPI
# document (so the two cannot disagree): RFC 3339 dates and date-times (the offset may be
# left out and means UTC; a date alone, or GDAL's date with a trailing "T", means the whole
# day) with real calendar days, ISO 8601 durations, `..` or nothing for an open end.
_YEAR = r"(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})"
_LEAP_YEAR = r"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
)
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)?"
_INSTANT = rf"{_DATE}(?:[Tt](?:{_TIME})?)?"
_DATE_PART = r"(?:\d+Y(?:\d+M)?(?:\d+W)?(?:\d+D)?|\d+M(?:\d+W)?(?:\d+D)?|\d+W(?:\d+D)?|\d+D)"
_TIME_PART = r"(?:\d+H(?:\d+M)?(?:\d+(?:\.\d+)?S)?|\d+M(?:\d+(?:\.\d+)?S)?|\d+(?:\.\d+)?S)"
_PERIOD = rf"P(?:{_DATE_PART}(?:T{_TIME_PART})?|T{_TIME_PART})"
_OPEN = r"(?:\.\.)?"
DATETIME_PATTERN = (
    rf"^(?:{_INSTANT}|{_INSTANT}/(?:{_INSTANT}|{_PERIOD}|{_OPEN})"
    rf"|(?:{_PERIOD}|{_OPEN})/{_INSTANT}|{_OPEN}/{_OPEN})$"
).replace(r"\d", "[0-9]")  # ASCII digits: Python's \d also matches other scripts' digits
_DATETIME = re.compile(DATETIME_PATTERN)


def single_values(params: QueryParams, allowed: Iterable[str] | None) -> dict[str, str]:
    """The query as name -> value; unknown (when `allowed` is given) or repeated parameters
    are errors."""
    known = None if allowed is None else set(allowed)
    values: dict[str, str] = {}
    for name, value in params.multi_items():
        if known is not None and name not in known:
            raise UnknownParameter(name)
        if name in values:
            raise InvalidParameter(name, "given more than once")
        values[name] = value
    return values


def parse_format(value: str | None, formats: tuple[str, ...] = FORMATS) -> str | None:
    if value is None:
        return None
    if value.lower() not in formats:
        raise InvalidParameter("f", f"'{value}' is not one of {', '.join(formats)}")
    return value.lower()


def parse_limit(value: str | None, default: int, maximum: int) -> int:
    """limit: a positive integer; values above the maximum are clamped, as the spec allows."""
    if value is None:
        return default
    if not _INTEGER.match(value.strip()):
        raise InvalidParameter("limit", f"'{value}' is not a positive integer")
    limit = int(value)
    if limit < 1:
        raise InvalidParameter("limit", "must be at least 1")
    return min(limit, maximum)


def parse_offset(value: str | None) -> int:
    if value is None:
        return 0
    if not _INTEGER.match(value.strip()):
        raise InvalidParameter("offset", f"'{value}' is not a non-negative integer")
    return int(value)


def parse_bbox(value: str | None, geographic: bool = True) -> BBox | None:
    """bbox: minx,miny,maxx,maxy (or 6 numbers with heights), in CRS84 unless `bbox-crs`
    says otherwise (then `geographic` is False and only the order is checked).

    minx > maxx is a box crossing the antimeridian, as Part 1 allows.
    """
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameter("bbox", "expected 4 or 6 comma-separated numbers")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameter(
            "bbox", f"'{value}' contains something that is not a number"
        ) from None
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter("bbox", "numbers must be finite")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    minx, miny, maxx, maxy = numbers
    if not geographic:
        if minx > maxx or miny > maxy:
            raise InvalidParameter("bbox", "the lower corner must come first")
        return (minx, miny, maxx, maxy)
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise InvalidParameter("bbox", "longitudes must lie within -180..180 (CRS84)")
    if not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        raise InvalidParameter("bbox", "latitudes must lie within -90..90 (CRS84)")
    if miny > maxy:
        raise InvalidParameter("bbox", "the lower latitude is greater than the upper one")
    return (minx, miny, maxx, maxy)


def _instant(text: str, *, end: bool) -> datetime:
    """One end of a datetime value. A date alone ("2024-01-02", or GDAL's "2024-01-02T")
    means the whole day: its first instant as a start, its last as an end. Moments beyond
    what Python's datetime holds (year 1 to 9999 in UTC) are taken as the earliest or the
    latest one."""
    day = _DATE_ONLY.match(text)
    try:
        if day:
            d = date.fromisoformat(day.group(1))
            start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return start + timedelta(days=1) - MICROSECOND if end else start
        value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except OverflowError:  # only at the calendar's edges: year 1 or year 9999
        return LATEST if text.startswith("9999") else EARLIEST


def _shift(moment: datetime, duration: str, sign: int) -> datetime:
    match = _DURATION.match(duration)
    if not match:
        raise ValueError(f"'{duration}' is not an ISO 8601 duration")
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in match.groups()[:6])
    seconds = float(match.group(7) or 0)
    try:
        month_index = moment.month - 1 + sign * (years * 12 + months)
        year, month = moment.year + month_index // 12, month_index % 12 + 1
        if not 1 <= year <= 9999:
            raise OverflowError
        last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        moved = moment.replace(year=year, month=month, day=min(moment.day, last_day))
        delta = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
        return moved + sign * delta
    except (OverflowError, ValueError):  # beyond year 9999 (or before year 1): open
        return LATEST if sign > 0 else EARLIEST


def parse_datetime(value: str | None) -> Interval | None:
    """datetime: an instant, or an interval start/end with `..` or empty for open ends and
    ISO 8601 durations (`2024-01-02/P2D`) on either side (DATETIME_PATTERN)."""
    if value is None:
        return None
    if not _DATETIME.match(value):
        raise InvalidParameter(
            "datetime",
            f"'{value}' is not an RFC 3339 date or date-time, nor an interval of two of them "
            "(start/end; '..' or nothing for an open end; an ISO 8601 duration for one end)",
        )
    if "/" not in value:
        return Interval(_instant(value, end=False), _instant(value, end=True))
    start_text, _, end_text = value.partition("/")
    start = None if start_text in ("", "..") or start_text.startswith("P") else start_text
    end = None if end_text in ("", "..") or end_text.startswith("P") else end_text
    begin = None if start is None else _instant(start, end=False)
    finish = None if end is None else _instant(end, end=True)
    if end_text.startswith("P") and begin is not None:
        finish = _shift(begin, end_text, +1)
    if start_text.startswith("P") and finish is not None:
        begin = _shift(finish, start_text, -1)
    if begin is not None and finish is not None and begin > finish:
        raise InvalidParameter("datetime", "the interval ends before it starts")
    return Interval(begin, finish)


def parse_sortby(value: str | None, sortables: Iterable[str]) -> tuple[SortKey, ...]:
    """sortby: `+a,-b,c` (a leading `+` may arrive as a space when not percent-encoded)."""
    if value is None:
        return ()
    allowed, keys, seen = set(sortables), [], set()
    for raw in value.split(","):
        term = raw.strip() if not raw.startswith(" ") else "+" + raw.strip()
        ascending = not term.startswith("-")
        name = term.lstrip("+-").strip()
        if not name:
            raise InvalidParameter("sortby", f"empty sort key in '{value}'")
        if name not in allowed:
            raise InvalidParameter(
                "sortby", f"'{name}' is not sortable (sortables: {', '.join(sorted(allowed))})"
            )
        if name in seen:
            raise InvalidParameter("sortby", f"'{name}' is given twice")
        seen.add(name)
        keys.append((name, ascending))
    return tuple(keys)


def parse_properties(value: str | None, names: Iterable[str]) -> list[str] | None:
    """properties: the comma-separated properties to return (Part 6 property selection)."""
    if value is None:
        return None
    allowed = set(names)
    chosen = [p.strip() for p in value.split(",") if p.strip()]
    if not chosen:
        raise InvalidParameter("properties", "name at least one property")
    unknown = [p for p in chosen if p not in allowed]
    if unknown:
        raise InvalidParameter("properties", f"unknown properties: {', '.join(unknown)}")
    return chosen


def parse_exclude_properties(
    value: str | None, names: Iterable[str], properties: str | None
) -> frozenset[str]:
    """exclude-properties: the complement of `properties` (Part 6 draft, 24-019): these
    properties are left out, `geometry` too when named. The two parameters exclude each
    other, as in the draft: which one wins would be a guess."""
    if value is None:
        return frozenset()
    if properties is not None:
        raise InvalidParameter(
            "exclude-properties", "give either properties or exclude-properties, not both"
        )
    allowed = {*names, GEOMETRY}
    chosen = [p.strip() for p in value.split(",") if p.strip()]
    if not chosen:
        raise InvalidParameter("exclude-properties", "name at least one property")
    unknown = [p for p in chosen if p not in allowed]
    if unknown:
        raise InvalidParameter("exclude-properties", f"unknown properties: {', '.join(unknown)}")
    return frozenset(chosen)


def parse_bool(value: str | None, parameter: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise InvalidParameter(parameter, f"'{value}' is not true or false")
