"""Packed text: a field holding several named values ('[Gemeindeschlüssel: 02000000|
Gemeinde: Hamburg|Ortsteil: HafenCity]', as XPlanSynWFS flattens XPlanung). A mapping
cannot take such text apart, but a part that is the same in every sampled record is a
fact about the whole source (the municipality): the wizard proposes it as a constant."""

from __future__ import annotations

import re
from typing import Any

from gateway.mapping.casts import text

PACKED = re.compile(r"^\[?[^|\[\]]+:[^|]+(\|[^|\[\]]+:[^|]+)+\]?$")
PART = re.compile(r"([^|\[\]:]+):\s*([^|\[\]]*)")


def is_packed(values: list[Any]) -> bool:
    texts = [text(v).strip() for v in values if v is not None and v != ""]
    return bool(texts) and sum(bool(PACKED.match(t)) for t in texts) >= 0.8 * len(texts)


def constant_parts(values: list[Any]) -> dict[str, str]:
    """Part name -> its value, for the parts that have one value in every packed record."""
    seen: dict[str, set[str]] = {}
    count = 0
    for value in values:
        if value is None or value == "":
            continue
        count += 1
        for name, part in PART.findall(text(value)):
            seen.setdefault(name.strip(), set()).add(part.strip())
    if count < 2:
        return {}
    return {name: next(iter(v)) for name, v in seen.items() if len(v) == 1 and next(iter(v))}
