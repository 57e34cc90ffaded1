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

from gateway.errors import InvalidParameter, UnknownParameter
from gateway.query.model import BBox, Interval, SortKey

FORMATS = ("json", "html")
_INTEGER = re.compile(r"^\+?\d{1,18}$")
_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_DATE_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2})T?$")
MICROSECOND = timedelta(microseconds=1)


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


def parse_format(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in FORMATS:
        raise InvalidParameter("f", f"'{value}' is not one of {', '.join(FORMATS)}")
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
    means the whole day: its first instant as a start, its last as an end."""
    day = _DATE_ONLY.match(text)
    if day:
        d = date.fromisoformat(day.group(1))
        start = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return start + timedelta(days=1) - MICROSECOND if end else start
    value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _shift(moment: datetime, duration: str, sign: int) -> datetime:
    match = _DURATION.match(duration)
    if not match:
        raise ValueError(f"'{duration}' is not an ISO 8601 duration")
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in match.groups()[:6])
    seconds = float(match.group(7) or 0)
    month_index = moment.month - 1 + sign * (years * 12 + months)
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    moved = moment.replace(year=year, month=month, day=min(moment.day, last_day))
    delta = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    return moved + sign * delta


def parse_datetime(value: str | None) -> Interval | None:
    """datetime: an instant, or an interval start/end with `..` or empty for open ends and
    ISO 8601 durations (`2024-01-02/P2D`) on either side."""
    if value is None:
        return None
    text = value.strip()
    try:
        if "/" not in text:
            if text in ("", ".."):
                raise ValueError("an instant is needed")
            return Interval(_instant(text, end=False), _instant(text, end=True))
        start_text, _, end_text = text.partition("/")
        if "/" in end_text:
            raise ValueError("at most one '/'")
        start = (
            None
            if start_text in ("", "..") or start_text.startswith("P")
            else (_instant(start_text, end=False))
        )
        end = (
            None
            if end_text in ("", "..") or end_text.startswith("P")
            else (_instant(end_text, end=True))
        )
        if start_text.startswith("P") and end_text.startswith("P"):
            raise ValueError("two durations")
        if end_text.startswith("P"):
            if start is None:
                raise ValueError("a duration needs a start")
            end = _shift(start, end_text, +1)
        if start_text.startswith("P"):
            if end is None:
                raise ValueError("a duration needs an end")
            start = _shift(end, start_text, -1)
    except (ValueError, OverflowError) as e:
        raise InvalidParameter(
            "datetime", f"'{value}' is not an RFC 3339 instant or interval ({e})"
        ) from None
    if start is not None and end is not None and start > end:
        raise InvalidParameter("datetime", "the interval ends before it starts")
    return Interval(start, end)


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
    unknown = [p for p in chosen if p not in allowed]
    if unknown:
        raise InvalidParameter("properties", f"unknown properties: {', '.join(unknown)}")
    return chosen


def parse_bool(value: str | None, parameter: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise InvalidParameter(parameter, f"'{value}' is not true or false")
