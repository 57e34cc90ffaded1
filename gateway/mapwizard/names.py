"""Field names compared as people write them: case, umlauts, separators and a trailing
unit ('hoehe_cm', 'Max. Leistung Ladepunkt [W]') do not make two names different."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
UNITS = ("mm", "cm", "dm", "m", "km", "w", "kw", "mw", "m2", "qm", "ha", "kwh")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_UNIT_TAIL = re.compile(r"(?:[\s_\-]*[\[(]\s*([a-zA-Z0-9²]+)\s*[\])]|[_\-]([a-zA-Z0-9²]+))\s*$")


def split_unit(name: str) -> tuple[str, str | None]:
    """('hoehe_cm' -> 'hoehe', 'cm'); a trailing token that is no unit stays."""
    match = _UNIT_TAIL.search(name)
    if match:
        unit = (match.group(1) or match.group(2)).lower().replace("²", "2")
        if unit in UNITS:
            return name[: match.start()], unit
    return name, None


def words(name: str) -> list[str]:
    """Lower-case words: 'anzahlDerOberirdischenGeschosse' -> [anzahl, der, ...]."""
    text = _CAMEL.sub(" ", name).lower().translate(UMLAUTS)
    return [w for w in re.split(r"[^a-z0-9]+", text) if w]


def similarity(field: str, synonym: str) -> float:
    """How alike a field's name (or, for a path, its last name) and a synonym are."""
    leaf = re.split(r"[.\[\]]+", field.rstrip("]"))[-1]
    whole = _similarity(field, synonym)
    return whole if leaf in ("", field) else max(whole, _similarity(leaf, synonym))


def _similarity(field: str, synonym: str) -> float:
    """1.0 for the same words; else the better of word overlap and spelling likeness."""
    a, b = words(split_unit(field)[0]), words(synonym)
    if not a or not b:
        return 0.0
    if "".join(a) == "".join(b):
        return 1.0
    overlap = len(set(a) & set(b)) / len(set(a) | set(b))
    spelling = SequenceMatcher(None, "".join(a), "".join(b)).ratio()
    contained = 0.85 if "".join(b) in "".join(a) and len("".join(b)) >= 5 else 0.0
    abbreviated = _abbreviation(a, b)
    spelt = spelling * 0.9 if spelling > 0.8 else spelling * 0.6
    return max(overlap, spelt, contained, abbreviated)


def _abbreviation(short: list[str], long: list[str]) -> float:
    """Word by word, an abbreviation of the synonym: 'ART_BOT' of 'art botanisch', 'ART_DT'
    of 'art deutsch' (a word's letters in order, from its first)."""
    if len(short) != len(long) or short == long:
        return 0.0
    for a, b in zip(short, long, strict=True):
        if a == b:
            continue
        letters = iter(b)
        if len(a) < 2 or a[0] != b[0] or not all(c in letters for c in a):
            return 0.0
    return 0.8
