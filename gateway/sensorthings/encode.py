"""Entities as STA JSON: `@iot.id`, absolute `@iot.selfLink`, every property (null when
unset), a `<Rel>@iot.navigationLink` for every relation that is not expanded, `$select`
(deep paths into JSON too) and the dataArray result format.

Stored JSON (properties, results, geometries) is embedded as orjson.Fragment: it was written
by orjson, so it goes out without being parsed again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.sensorthings.model import EntityType, Prop
from gateway.sensorthings.paths import Key, ResourcePath, format_key
from gateway.sensorthings.timefmt import interval, iso

DATA_ARRAY_DEFAULT = (
    "id",
    "phenomenonTime",
    "resultTime",
    "result",
    "resultQuality",
    "validTime",
    "parameters",
)


@dataclass(frozen=True)
class Links:
    """Link building for one service root; `namespace` turns ids into 'ns:id' strings (the
    federated view)."""

    root: str
    namespace: str | None = None

    def key(self, id_: Key) -> Key:
        return id_ if self.namespace is None else f"{self.namespace}:{id_}"

    def entity(self, etype: EntityType, id_: Key) -> str:
        return f"{self.root}/{etype.plural}({format_key(self.key(id_))})"

    def path(self, path: ResourcePath) -> str:
        """The absolute URL of a resource path, its ids in this view's form."""
        parts = [
            seg.name + (f"({format_key(self.key(seg.id))})" if seg.id is not None else "")
            for seg in path.segments
        ]
        parts += [p for p in (path.member, "$value" if path.value else None) if p]
        if path.ref:
            parts.append("$ref")
        return "/".join([self.root, *parts])


def _json(text: Any) -> Any:
    if text is None:
        return None
    if isinstance(text, str | bytes):
        return orjson.Fragment(text)
    return text  # a driver that already decoded JSON


def prop_value(prop: Prop, row: Sequence[Any], index: dict[str, int]) -> Any:
    return _value(prop.kind, row, index[prop.columns[0]])


def _value(kind: str, row: Sequence[Any], i: int) -> Any:
    """The value of a property of `kind` whose (first) column is row[i]."""
    if kind == "text":
        return row[i]
    if kind in ("json", "geo"):
        return _json(row[i])
    if kind == "time":
        return iso(row[i])
    if kind == "interval":
        return interval(row[i], row[i + 1])
    return _json(row[i])  # result: result_json


def plain_value(prop: Prop, row: Sequence[Any], index: dict[str, int]) -> Any:
    """The value as plain Python data (JSON parsed), for deep $select and $value."""
    if prop.kind in ("json", "geo", "result"):
        raw = row[index[prop.columns[0]]]
        return orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return prop_value(prop, row, index)


def selection(
    select: tuple[tuple[str, ...], ...] | None,
) -> dict[str, list[tuple[str, ...]]] | None:
    """Top-level names -> deep paths below them (empty list: the whole value)."""
    if select is None:
        return None
    out: dict[str, list[tuple[str, ...]]] = {}
    whole: set[str] = set()
    for path in select:
        name = "id" if path[0] == "@iot.id" else path[0]
        if len(path) == 1:
            whole.add(name)
            out[name] = []
        elif name not in whole:
            out.setdefault(name, []).append(path[1:])
    return out


def _pick(value: Any, paths: list[tuple[str, ...]]) -> Any:
    out: dict[str, Any] = {}
    for path in paths:
        node, dest = value, out
        for i, step in enumerate(path):
            if not isinstance(node, dict) or step not in node:
                break
            node = node[step]
            if i == len(path) - 1:
                dest[step] = node
            else:
                dest = dest.setdefault(step, {})
    return out


def encode_entity(
    etype: EntityType,
    row: Sequence[Any],
    links: Links,
    want: dict[str, list[tuple[str, ...]]] | None,
    expanded: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    id_ = row[0]
    self_link = links.entity(etype, id_)
    out: dict[str, Any] = {}
    if want is None or "id" in want:
        out["@iot.id"] = links.key(id_)
    if want is None or "@iot.selfLink" in want:
        out["@iot.selfLink"] = self_link
    index = etype.column_index
    for prop, i in etype.prop_slots:
        if want is None:
            value = _value(prop.kind, row, i)
            if value is not None or prop.shown_when_null:
                out[prop.name] = value
        elif prop.name in want:
            deep = want[prop.name]
            out[prop.name] = (
                _pick(plain_value(prop, row, index), deep) if deep else prop_value(prop, row, index)
            )
    for rel in etype.rels:
        if expanded and rel.name in expanded:
            out.update(expanded[rel.name])
        elif want is None or rel.name in want:
            out[f"{rel.name}@iot.navigationLink"] = f"{self_link}/{rel.name}"
    return out


def data_array(
    etype: EntityType,
    rows: Sequence[Sequence[Any]],
    links: Links,
    select: tuple[tuple[str, ...], ...] | None,
) -> list[dict[str, Any]]:
    """Observations grouped by (Multi)Datastream, each as components + rows of values."""
    components = (
        [("id" if p[0] == "@iot.id" else p[0]) for p in select]
        if select
        else list(DATA_ARRAY_DEFAULT)
    )
    index = etype.column_index
    groups: dict[tuple[str, Any], list[list[Any]]] = {}
    for row in rows:
        ds = row[index["datastream_id"]]
        key = (
            ("Datastreams", ds)
            if ds is not None
            else ("MultiDatastreams", row[index["multi_datastream_id"]])
        )
        values = [
            links.key(row[0]) if name == "id" else prop_value(etype.prop[name], row, index)
            for name in components
        ]
        groups.setdefault(key, []).append(values)
    out = []
    for (plural, parent), values in groups.items():
        rel = "Datastream" if plural == "Datastreams" else "MultiDatastream"
        out.append(
            {
                f"{rel}@iot.navigationLink": (
                    f"{links.root}/{plural}({format_key(links.key(parent))})"
                ),
                "components": components,
                "dataArray@iot.count": len(values),
                "dataArray": values,
            }
        )
    return out


async def entity_set_pieces(
    count: int | None,
    chunks: AsyncIterator[list[dict[str, Any]]],
    tail: Callable[[], dict[str, Any]],
) -> AsyncIterator[bytes]:
    """An entity set written as its chunks come: `@iot.count` (known before), the values,
    then `tail()`'s members (`@iot.nextLink`, known once the values are out)."""
    head = orjson.dumps({"@iot.count": count})[1:-1] + b"," if count is not None else b""
    yield b"{" + head + b'"value":['
    first = True
    async for values in chunks:
        if values:
            body = orjson.dumps(values)[1:-1]
            yield body if first else b"," + body
            first = False
    after = tail()
    yield b"]" + (b"," + orjson.dumps(after)[1:] if after else b"}")
