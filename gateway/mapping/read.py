"""Reading source values: one field by name or path, and the items of a multi-valued one.

Shared by the single-field rules (compile.py) and those reading several fields
(combine.py), so both treat a path, a null and an empty text alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors import paths
from gateway.mapping.casts import text

Record = dict[str, Any]
Getter = Callable[[Record], Any]
Step = Callable[[Any], Any]


def reader(source: str) -> Getter:
    """Read one field, by its name or, when absent under that name, by walking its path."""
    if not paths.is_path(source):
        return lambda props: props.get(source)
    parts, missing = paths.parse(source), paths.MISSING

    def read(props: Record) -> Any:
        value = props.get(source, missing)
        return paths.get(props, parts) if value is missing else value

    return read


def absent(value: Any) -> bool:
    """Null and '' both mean 'no value' in a source (a CSV cannot tell them apart)."""
    return value is None or value == ""


def add_items(value: Any, separator: str | None, steps: list[Step], out: list[Any]) -> None:
    """Append to `out` the items of one value (a list as is, text split at `separator`, else
    the value itself) after the steps, leaving out blanks, nulls and repeats."""
    if isinstance(value, list):
        items = value
    elif separator is not None:
        items = text(value).split(separator)
    else:
        items = [value]
    for item in items:
        if isinstance(item, str):
            item = item.strip()
        if absent(item):
            continue
        for step in steps:
            item = step(item)
            if item is None:
                break
        if item is not None and item not in out:
            out.append(item)
