"""Temporal values of features as intervals: a date covers its whole day, an instant is a
point. Comparing intervals keeps `datetime=2024-05-01` true for a tree updated that day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

DAY = timedelta(days=1)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def value_span(value: Any) -> tuple[datetime, datetime] | None:
    """The [start, end) a property value covers, or None when it is not temporal."""
    if value is None:
        return None
    if isinstance(value, datetime):
        instant = as_utc(value)
        return instant, instant
    if isinstance(value, date):
        start = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return start, start + DAY
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return value_span(date.fromisoformat(text))
        return value_span(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
