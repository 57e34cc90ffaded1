"""Flat records back into the nested JSON a broker stores: the inverse of
connectors.paths.flatten, for the NGSI writers.

`{"address.value.streetAddress": "Weena 1", "sensors[0].unit": "GQ"}` becomes
`{"address": {"value": {"streetAddress": "Weena 1"}}, "sensors": [{"unit": "GQ"}]}`. Two
paths that cannot both hold (`a` = 1 and `a.b` = 2, or a gap in an array's indexes) are the
client's mistake: a ValueError naming the path, which the writers answer as 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors import paths

_HOLE = object()


class _Leaf:
    """A given value: never walked into, even when it is an object (a GeoJSON value)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Nested objects and arrays from path-named leaves (in the order given)."""
    root: dict[str, Any] = {}
    for path, value in flat.items():
        try:
            parts = paths.parse(path)
        except paths.PathError as e:
            raise ValueError(str(e)) from None
        _put(root, parts, value, path)
    return _closed(root, "")


def _put(node: Any, parts: tuple[paths.Part, ...], value: Any, path: str) -> None:
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following: Any = _Leaf(value) if last else ([] if isinstance(parts[index + 1], int) else {})
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ValueError(f"field '{path}': an index where an object is")
            node.extend([_HOLE] * (part + 1 - len(node)))
            current = node[part]
        else:
            if not isinstance(node, dict):
                raise ValueError(f"field '{path}': a name where an array is")
            current = node.get(part, _HOLE)
        if current is _HOLE:
            current = node[part] = following
        elif last or not isinstance(current, dict | list):
            raise ValueError(f"field '{path}' clashes with another field")
        node = current


def _closed(node: Any, path: str) -> Any:
    """The tree with every array checked for gaps (`a[0]`, `a[2]` without `a[1]`)."""
    if isinstance(node, _Leaf):
        return node.value
    if isinstance(node, dict):
        return {k: _closed(v, f"{path}.{k}" if path else k) for k, v in node.items()}
    if isinstance(node, list):
        if any(item is _HOLE for item in node):
            raise ValueError(f"field '{path}': an array with a gap in its indexes")
        return [_closed(item, f"{path}[{i}]") for i, item in enumerate(node)]
    return node


__all__ = ["unflatten"]
