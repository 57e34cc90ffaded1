"""RFC 3339 instants and the temporal extent of property values (a date covers its day)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DAY = timedelta(days=1)


def parse_rfc3339(text: Any) -> datetime | None:
    """An RFC 3339 date-time with its offset (as OGC's ETS demands), in UTC; else None."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        return None
    value = text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T").replace(" ", "T")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def value_span(value: Any) -> tuple[datetime, datetime, bool] | None:
    """The time a property value stands for: (start, end, is_date); None if not temporal.

    A date covers its whole day [00:00, next 00:00); a date-time is an instant. Date-times
    without an offset are not accepted as temporal (RFC 3339 needs the offset).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DATE.match(text):
        try:
            d = date.fromisoformat(text)
        except ValueError:
            return None
        start = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return start, start + DAY, True
    moment = parse_rfc3339(text)
    return (moment, moment, False) if moment else None


def relation(
    value: Any, start: datetime | None, end: datetime | None
) -> str:  # "in", "out", "ambiguous", "none"
    """How a property value relates to the closed query interval [start, end].

    A day touching the interval only at its end instant (the day ending at `start`) is
    "ambiguous": servers reading a date as a closed day would include it, others not.
    """
    span = value_span(value)
    if span is None:
        return "none"
    lo, hi, is_date = span
    if is_date:
        if (end is not None and lo > end) or (start is not None and hi < start):
            return "out"
        if start is not None and hi == start:
            return "ambiguous"
        return "in"
    if (end is not None and lo > end) or (start is not None and lo < start):
        return "out"
    return "in"
