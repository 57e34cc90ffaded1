"""From an API's answer to records: the body checked against the declared shape, each item
flattened (connectors/paths.py) with its id and location.

The page's shape is the API's contract: a missing items array, or one that is not an
array, fails the request naming the path. A single item that cannot be a record (not an
object, no usable id) is left out, and a location that is not one leaves the record without
a geometry; both are reported (FeatureConnector.left_out, counted per source, field and
problem), so one bad item never fails a page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from connectors import paths
from connectors.base import FieldType, Record, infer_type
from connectors.errors import SourceError
from connectors.remote.http import HttpAnswer
from connectors.rest.geometry import GeometryReader

log = logging.getLogger("twinbridge.rest")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")


def excerpt(content: bytes, size: int = 200) -> str:
    """The start of an answer's body on one line, for the operator's log."""
    text = " ".join(content[: size * 4].decode("utf-8", "replace").split())
    return text[:size] + ("…" if len(text) > size else "")


def body(answer: HttpAnswer, source: str, url: str) -> Any:
    """The JSON of a 2xx answer; any other status or a body that is not JSON fails."""
    if not 200 <= answer.status < 300:
        text = excerpt(answer.content)
        raise SourceError(f"{source}: the API answered {answer.status} for {url}: {text}")
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        raise SourceError(f"{source}: the API's answer to {url} is not JSON") from None


@dataclass
class Shape:
    """The declared places of items, id and total in an API's answers."""

    items: tuple[paths.Part, ...]
    id: tuple[paths.Part, ...]
    total: tuple[paths.Part, ...] | None
    geometry: GeometryReader
    source: str
    report: Callable[[str, str], None] = field(default=lambda field, problem: None)
    skipped: int = 0

    def items_of(self, doc: Any, url: str) -> list[Any]:
        found = paths.get(doc, self.items, paths.MISSING) if self.items else doc
        where = f"'{paths.join(self.items)}'" if self.items else "the root"
        if found is paths.MISSING:
            raise SourceError(f"{self.source}: the answer to {url} has no {where}")
        if not isinstance(found, list):
            raise SourceError(f"{self.source}: {where} of the answer to {url} is not an array")
        return found

    def total_of(self, doc: Any) -> int | None:
        if self.total is None:
            return None
        found = paths.get(doc, self.total)
        if isinstance(found, bool) or not isinstance(found, int) or found < 0:
            return None
        return found

    def records(self, items: list[Any]) -> list[Record]:
        objects = [item for item in items if isinstance(item, dict)]
        for _ in range(len(items) - len(objects)):
            self.report("(item)", "not an object")
        geometries = self.geometry.read(objects)
        out = []
        for item, geometry in zip(objects, geometries, strict=True):
            rid = record_id(paths.get(item, self.id))
            if rid is None:
                self.report(paths.join(self.id), "no usable id")
                continue
            if geometry is None and self.geometry.enabled and self.geometry.present(item):
                self.report(self.geometry.field, "not a geometry")
            props = self.geometry.strip(paths.flatten(item))
            out.append({"id": rid, "properties": props, "geometry": geometry})
        bad = len(items) - len(out)
        if bad:
            self.skipped += bad
            log.warning("%s: %d item(s) without an object or an id left out", self.source, bad)
        return out


def record_id(value: Any) -> str | int | None:
    """An id as the API gives it (a string or an integer); anything else is no id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value:
        return value
    return None


def field_types(records: list[Record]) -> dict[str, FieldType]:
    """Each property's type over a sample (document order); ISO date and date-time texts
    are dates and datetimes, as the mapping's casts and the pushdown of ranges need."""
    seen: dict[str, list[Any]] = {}
    for r in records:
        for name, value in r["properties"].items():
            seen.setdefault(name, []).append(value)
    return {name: _type(values) for name, values in seen.items()}


def _type(values: list[Any]) -> FieldType:
    kind = infer_type(values)
    texts = [v for v in values if v is not None]
    if kind != "string" or not texts or not all(isinstance(v, str) for v in texts):
        return kind
    if all(_DATE.fullmatch(v) for v in texts):
        return "date"
    if all(_DATETIME.fullmatch(v) for v in texts):
        return "datetime"
    return kind


__all__ = ["Shape", "body", "excerpt", "field_types", "record_id"]
