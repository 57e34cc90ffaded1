"""Tokens of OData expressions: names and paths, literals (strings, numbers, booleans, null,
date-times, dates, times, intervals, `duration'…'`, `geography'…'`), punctuation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gateway.errors import InvalidParameter


class ODataSyntaxError(InvalidParameter):
    code = "InvalidQuery"

    def __init__(self, option: str, message: str, pos: int) -> None:
        super().__init__(option, f"{message} at position {pos}")
        self.message = message
        self.pos = pos


@dataclass(frozen=True)
class Token:
    kind: (
        str  # name, string, number, datetime, date, time, interval, duration, geometry, punct, eof
    )
    value: Any
    pos: int  # 1-based
    text: str


_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?"
# ASCII: Python's \d and \s also match other scripts' digits and spaces ("１２" would be 12).
_PATTERNS = [
    (kind, re.compile(pattern, re.ASCII))
    for kind, pattern in [
        ("ws", r"\s+"),
        ("interval", f"({_DATETIME})/({_DATETIME})"),
        ("datetime", _DATETIME),
        ("date", r"\d{4}-\d{2}-\d{2}(?![\dT])"),
        ("time", r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?![\d:])"),
        ("number", r"-?(?:\d+\.\d+|\d+)(?:[eE][+-]?\d+)?(?![\w.])"),
        ("typed", r"(duration|geography|geometry)'((?:[^']|'')*)'"),
        ("string", r"'((?:[^']|'')*)'"),
        ("name", r"[A-Za-z_@$][A-Za-z0-9_.@-]*"),
        ("punct", r"[(),/:\-]"),
    ]
]
_DURATION = re.compile(
    r"^(-)?P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_SRID = re.compile(r"^\s*SRID=\d+;", re.IGNORECASE)


def parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_duration(text: str) -> timedelta | None:
    """The duration, or None when it is not ISO 8601 or beyond what a timedelta holds
    (999,999,999 days)."""
    m = _DURATION.match(text)
    if m is None:
        return None
    sign, weeks, days, hours, minutes, seconds = m.groups()
    try:
        value = timedelta(
            weeks=int(weeks or 0),
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=float(seconds or 0),
        )
    except OverflowError:
        return None
    return -value if sign else value


def parse_wkt(text: str) -> str | None:
    """The WKT text if shapely can read it, else None."""
    from shapely import wkt
    from shapely.errors import ShapelyError

    cleaned = _SRID.sub("", text).strip()
    try:
        wkt.loads(cleaned)
    except (ShapelyError, ValueError, TypeError):
        return None
    return cleaned


def _number(text: str, option: str, pos: int) -> int | float:
    """An integer within BIGINT, else a float (Python's int() refuses beyond 4,300 digits);
    a number no double holds (1e400: no store takes it, JSON cannot say it) is an error."""
    if any(c in text for c in ".eE") or len(text.lstrip("-")) > 19:
        value = float(text)
        if not math.isfinite(value):
            raise ODataSyntaxError(option, f"'{text[:40]}' is beyond the range of a number", pos)
        return value
    value = int(text)
    return value if -(2**63) <= value < 2**63 else float(value)  # beyond BIGINT: a float


def _convert(kind: str, m: re.Match[str], option: str, pos: int) -> tuple[str, Any]:
    text = m.group(0)
    try:
        if kind == "interval":
            return kind, (parse_datetime(m.group(1)), parse_datetime(m.group(2)))
        if kind == "datetime":
            return kind, parse_datetime(text)
        if kind == "date":
            return kind, date.fromisoformat(text)
        if kind == "time":
            return kind, time.fromisoformat(text)
    except (ValueError, OverflowError):  # also beyond year 1..9999 once made UTC
        raise ODataSyntaxError(option, f"'{text}' is not a valid {kind}", pos) from None
    if kind == "number":
        return kind, _number(text, option, pos)
    if kind == "string":
        return kind, m.group(1).replace("''", "'")
    if kind == "typed":
        prefix, body = m.group(1), m.group(2).replace("''", "'")
        if prefix == "duration":
            value = parse_duration(body)
            if value is None:
                raise ODataSyntaxError(option, f"'{body}' is not an ISO 8601 duration", pos)
            return "duration", value
        geometry = parse_wkt(body)
        if geometry is None:
            raise ODataSyntaxError(option, f"'{body}' is not valid WKT", pos)
        return "geometry", geometry
    return kind, text


def tokenize(text: str, option: str) -> list[Token]:
    if "\x00" in text:  # no store takes it in a string, and nothing else may contain it
        raise ODataSyntaxError(option, "NUL characters are not allowed", text.index("\x00") + 1)
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        for kind, pattern in _PATTERNS:
            m = pattern.match(text, pos)
            if m is None:
                continue
            if kind != "ws":
                kind_out, value = _convert(kind, m, option, pos + 1)
                tokens.append(Token(kind_out, value, pos + 1, m.group(0)))
            pos = m.end()
            break
        else:
            raise ODataSyntaxError(option, f"unexpected character {text[pos]!r}", pos + 1)
    tokens.append(Token("eof", None, len(text) + 1, ""))
    return tokens
