"""Casts of source values to profile types: lenient, because real data is not clean.

A value that does not convert (a 'n/a' in a number column) becomes null rather than failing
the whole response: real cadastres have such cells, and a client is better served by a null
than by a 502. Decimal commas and blanks inside numbers ('1 234,5') are read as Germans
write them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

_TRUE = {"true", "1", "yes", "ja", "j", "y", "wahr"}
_FALSE = {"false", "0", "no", "nein", "n", "falsch"}


def to_integer(value: Any) -> int | None:
    number = to_number(value)
    if number is None or math.isnan(number) or math.isinf(number):
        return None
    return round(number)


def to_number(value: Any) -> float | None:
    if type(value) is float:  # the common case first: a number column read as a number
        return value
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _to_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _parse_datetime(value: Any, fmt: str | None) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    try:
        if fmt:
            return datetime.strptime(text, fmt)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _to_date(fmt: str | None) -> Callable[[Any], str | None]:
    def cast(value: Any) -> str | None:
        parsed = _parse_datetime(value, fmt)
        return parsed.date().isoformat() if parsed else None

    return cast


def _to_datetime(fmt: str | None) -> Callable[[Any], str | None]:
    def cast(value: Any) -> str | None:
        parsed = _parse_datetime(value, fmt)
        if parsed is None:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return cast


def caster(type_: str | None, fmt: str | None = None) -> Callable[[Any], Any]:
    simple: dict[str | None, Callable[[Any], Any]] = {
        None: lambda v: v,
        "string": str,
        "integer": to_integer,
        "number": to_number,
        "boolean": _to_boolean,
    }
    if type_ == "date":
        return _to_date(fmt)
    if type_ == "datetime":
        return _to_datetime(fmt)
    return simple[type_]


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
