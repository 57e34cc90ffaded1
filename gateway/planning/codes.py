"""The source values a code list stands for: the inverse mapping enumerates them to rewrite
a term over a coded property (inverse.py rule 4, defaults.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_CODES = 1000  # a longer list is not enumerated: its terms stay residual


def code_values(codes: Mapping[Any, Any], source_type: str | None) -> list[Any] | None:
    """The source values the code keys stand for (the mapping compares keys as text)."""
    if source_type == "string":
        return [str(key) for key in codes]
    if source_type not in ("integer", "number"):
        return None
    found: list[Any] = []
    for key in map(str, codes):
        try:
            value: int | float = int(key) if source_type == "integer" else float(key)
        except ValueError:
            continue  # no value of this type prints as this key
        if math.isfinite(value) and _text(value) == key:
            found.append(value)
    return found


def _text(value: float) -> str:
    """As gateway.mapping prints a source value before looking it up."""
    return str(int(value)) if float(value).is_integer() else str(value)
