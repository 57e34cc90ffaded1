"""Sorting features by `sortby` keys, the same way for one source and for a federation.

Nulls sort last whatever the direction, so a descending sort does not start with every tree
whose planting year is unknown. Values of different types compare by type first, so a
messy source column never raises.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Sequence
from typing import Any

from gateway.query.model import SortKey

Feature = dict[str, Any]


def _rank(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def compare(a: Feature, b: Feature, keys: Sequence[SortKey]) -> int:
    for prop, ascending in keys:
        x, y = a["properties"].get(prop), b["properties"].get(prop)
        if x is None or y is None:
            if x is None and y is None:
                continue
            return 1 if x is None else -1
        rx, ry = _rank(x), _rank(y)
        if rx != ry:
            order = -1 if rx < ry else 1
            return order if ascending else -order
    return 0


def sort_features(features: list[Feature], keys: Sequence[SortKey]) -> list[Feature]:
    """A stable sort: ties keep source order, so paging stays deterministic."""
    if not keys:
        return features
    return sorted(features, key=functools.cmp_to_key(lambda a, b: compare(a, b, keys)))


def merge_sorted(runs: Iterable[list[Feature]], keys: Sequence[SortKey]) -> list[Feature]:
    """k-way merge of already sorted runs; ties keep run order (member order)."""
    key = functools.cmp_to_key(lambda a, b: compare(a, b, keys))
    return list(heapq.merge(*runs, key=key))
