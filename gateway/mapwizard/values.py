"""What a field's sample values say: whether they are numbers, dates (in which format),
codes of the profile's code list (under which source words), or lists of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.mapping.casts import text, to_number
from gateway.mapwizard.names import words
from gateway.mapwizard.targets import Target

DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y%m%d", "%m/%d/%Y", "%d.%m.%Y %H:%M")
SEPARATORS = (";", ",", "|")


@dataclass
class Values:
    """A field's sample: its non-empty values and a few figures about them."""

    name: str
    values: list[Any]
    numbers: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = [v for v in self.values if v is not None and v != ""]
        found = [to_number(v) for v in self.values if not isinstance(v, bool)]
        self.numbers = [n for n in found if n is not None]

    @property
    def numeric(self) -> bool:
        return bool(self.values) and len(self.numbers) == len(self.values)

    @property
    def integral(self) -> bool:
        return self.numeric and all(float(n).is_integer() for n in self.numbers)

    def distinct(self) -> list[str]:
        return [v for v, _ in Counter(text(v) for v in self.values).most_common()]


def date_format(values: Values) -> tuple[str, str | None] | None:
    """('date' or 'datetime', a strptime format or None for ISO 8601) when every value
    reads as a date; None otherwise."""
    texts = [text(v).strip() for v in values.values]
    if not texts or values.numeric and not all(len(t) == 8 for t in texts):
        return None
    if all(_iso(t) for t in texts):
        return ("datetime" if any("T" in t or " " in t for t in texts) else "date"), None
    for fmt in DATE_FORMATS:
        if all(_parses(t, fmt) for t in texts):
            return ("datetime" if "%H" in fmt else "date"), fmt
    return None


def _iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return len(value) >= 10


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def separator(values: Values) -> str | None:
    """The separator of a multi-valued text field, when a fair share of values hold one."""
    texts = [v for v in values.values if isinstance(v, str)]
    for sep in SEPARATORS:
        if texts and sum(sep in t for t in texts) >= max(1, len(texts) // 10):
            return sep
    return None


@dataclass
class CodeMatch:
    """Source value -> code; `how` says why, per value; `unmatched` could not be placed."""

    codes: dict[str, str]
    how: dict[str, str]
    unmatched: list[str]

    @property
    def identity(self) -> bool:
        return not self.unmatched and all(k == v for k, v in self.codes.items())

    @property
    def share(self) -> float:
        total = len(self.codes) + len(self.unmatched)
        return len(self.codes) / total if total else 0.0


def match_codes(distinct: list[str], target: Target) -> CodeMatch:
    """Place each distinct source value on a code: the code itself, its label, a word the
    profile lists for it, a prefix of exactly one code (TI -> Tilia), else the code whose
    label and words share the most words with it."""
    codes, how, unmatched = {}, {}, []
    for value in distinct:
        found = _code_for(value, target)
        if found is None:
            unmatched.append(value)
        else:
            codes[value], how[value] = found
    return CodeMatch(codes, how, unmatched)


def _code_for(value: str, target: Target) -> tuple[str, str] | None:
    key = value.strip().casefold()
    for code in target.codes or ():
        if key == code.casefold():
            return code, "the code"
        if key == target.labels.get(code, "").casefold():
            return code, "its label"
        if key in (w.casefold() for w in target.code_words.get(code, ())):
            return code, "a word the profile lists for it"
    if "_" in key and key.rsplit("_", 1)[0].isdigit():  # a CityGML codeSpace: '31001_1010'
        found = _code_for(key.rsplit("_", 1)[1], target)
        if found is not None:
            return found[0], f"{found[1]}, after the code-space prefix"
    prefixed = [c for c in target.codes or () if len(key) >= 2 and c.casefold().startswith(key)]
    if len(prefixed) == 1:
        return prefixed[0], "a prefix of the code"
    return _by_words(value, target)


def _by_words(value: str, target: Target) -> tuple[str, str] | None:
    mine = set(words(value))
    if not mine:
        return None
    scored = []
    for code in target.codes or ():
        theirs = set(words(code)) | set(words(target.labels.get(code, "")))
        for word in target.code_words.get(code, ()):
            theirs |= set(words(word))
        scored.append((len(mine & theirs) / len(mine), code))
    scored.sort(reverse=True)
    if scored and scored[0][0] >= 0.5 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1], f"shares {scored[0][0]:.0%} of its words"
    return None
