"""Paths into nested records: one syntax for every connector and for mapping rules.

A path is dotted names with array indexes, as JavaScript and jq read a JSON document:
`temperature.value`, `address.street`, `sensors[0].unit`, `location.coordinates[1]`.
A name holding a dot, bracket or backslash escapes it with a backslash (`a\\.b`).

Records stay flat at the mapping (DESIGN.md, "nested records"): a connector that reads
nested JSON calls `flatten()` at its edge, so the record's keys are paths, and the mapper,
the inverse mapping, the planner and keyset paging see plain field names. `get()` walks a
nested value by a path, for records that were not flattened (a GeoJSON file's nested
properties).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Part = str | int
_TOKEN = re.compile(r"((?:[^.\[\]\\]|\\.)+)|\[(\d+)\]|(\.)")
_SPECIAL = re.compile(r"([.\[\]\\])")
_UNESCAPE = re.compile(r"\\(.)")
MISSING: Any = object()


class PathError(ValueError):
    """A path that does not follow the syntax (names the path and the position)."""


def is_path(text: str) -> bool:
    """True when `text` names a nested value, not one plain field."""
    return any(c in text for c in ".[\\")


def parse(path: str) -> tuple[Part, ...]:
    """`a.b[2].c` -> ('a', 'b', 2, 'c'); a PathError for `a..b`, `a.`, `[x]`, `a[`."""
    parts: list[Part] = []
    pos, expect_name = 0, True
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            raise PathError(f"path '{path}': unexpected '{path[pos]}' at position {pos + 1}")
        name, index, dot = match.groups()
        if dot is not None:
            if expect_name:
                raise PathError(f"path '{path}': a name is missing at position {pos + 1}")
            expect_name = True
        elif index is not None:
            if not parts or expect_name:
                raise PathError(f"path '{path}': an index needs a name before it")
            parts.append(int(index))
        else:
            if not expect_name:
                raise PathError(f"path '{path}': a '.' is missing at position {pos + 1}")
            parts.append(_UNESCAPE.sub(r"\1", name))
            expect_name = False
        pos = match.end()
    if expect_name:
        raise PathError(f"path '{path}': it must not be empty or end with '.'")
    return tuple(parts)


def escape(name: str) -> str:
    """A field name as one path segment (`a.b` -> `a\\.b`)."""
    if "." not in name and "[" not in name and "]" not in name and "\\" not in name:
        return name  # most names: no regex run (flatten calls this for every key)
    return _SPECIAL.sub(r"\\\1", name)


def join(parts: tuple[Part, ...] | list[Part]) -> str:
    """The inverse of `parse`."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(("." if out else "") + escape(part))
    return "".join(out)


def get(value: Any, parts: tuple[Part, ...], default: Any = None) -> Any:
    """The value at `parts` inside `value`, or `default` where the path leads nowhere."""
    for part in parts:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return default
        elif not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def flatten(value: Mapping[str, Any], *, max_depth: int = 6, max_items: int = 20) -> dict[str, Any]:
    """Every leaf of a nested record under its path.

    Objects are walked; an array of objects is walked per index (the first `max_items`)
    and an array of scalars stays one value (a list). Beyond `max_depth` levels a value is
    kept as it is. An object keeps no entry of its own, so `a` of `{"a": {"b": 1}}` is not
    a field, `a.b` is. Keys come out in document order.
    """
    out: dict[str, Any] = {}
    for key, item in value.items():
        _flatten_into(out, escape(key), item, max_depth, max_items)
    return out


def _flatten_into(out: dict[str, Any], path: str, value: Any, depth: int, items: int) -> None:
    if depth <= 1:
        out[path] = value
    elif isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten_into(out, f"{path}.{escape(key)}", item, depth - 1, items)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for index, item in enumerate(value[:items]):
            _flatten_into(out, f"{path}[{index}]", item, depth - 1, items)
    else:
        out[path] = value
