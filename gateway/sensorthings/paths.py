"""Resource paths below a service root: `Things`, `Things(1)`, `Things(1)/Datastreams(2)/
Observations`, `Datastreams(7)/Thing/Locations`, `Things(1)/name`, `Things(1)/name/$value`,
`Things/$ref`, `Things(1)/Datastreams/$ref`; ids are integers or quoted strings (`('a''b')`).

An unknown segment is a 404 (the resource does not exist), a malformed one a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from gateway.errors import InvalidParameter, NotFound
from gateway.sensorthings.model import BY_PLURAL, EntityType, Rel, target

Key = int | str
# A key: a number, a quoted string, or a federated id written bare (`Datastreams(hamburg:1)`):
# Masterportal copies `@iot.id` into its URLs and MQTT topics without quotes.
_SEGMENT = re.compile(
    r"([A-Za-z][A-Za-z0-9]*|\$value|\$ref)"
    r"(?:\((\d{1,19}|'(?:[^']|'')*'|[a-z0-9][a-z0-9-]{0,62}:\d{1,19})\))?"
)
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Segment:
    name: str
    type: EntityType
    id: Key | None = None
    rel: Rel | None = None  # the relation that leads here; None on the first segment

    @property
    def is_collection(self) -> bool:
        return self.id is None and (self.rel is None or self.rel.many)


@dataclass(frozen=True)
class ResourcePath:
    segments: tuple[Segment, ...] = ()
    member: str | None = None  # a property name: `Things(1)/name`
    value: bool = False
    ref: bool = False
    action: str | None = None  # "CreateObservations"

    @property
    def last(self) -> Segment:
        return self.segments[-1]

    @property
    def type(self) -> EntityType:
        return self.last.type

    @property
    def is_root(self) -> bool:
        return not self.segments and self.action is None

    @property
    def is_collection(self) -> bool:
        return bool(self.segments) and self.member is None and self.last.is_collection

    def text(self, for_url: bool = False) -> str:
        """The path again, as it appears after the service root; `for_url` percent-encodes
        the ids, so that one holding `/`, `?`, `#` or `..` stays one segment of one path
        when the text goes into a URL (an upstream request)."""
        keys = [None if seg.id is None else format_key(seg.id) for seg in self.segments]
        if for_url:
            keys = [None if k is None else quote(k, safe="'") for k in keys]
        parts = [
            seg.name + (f"({key})" if key is not None else "")
            for seg, key in zip(self.segments, keys, strict=True)
        ]
        if self.member:
            parts.append(self.member)
        if self.value:
            parts.append("$value")
        if self.ref:
            parts.append("$ref")
        return "/".join(parts)


def format_key(key: Key) -> str:
    if isinstance(key, int):
        return str(key)
    return "'" + key.replace("'", "''") + "'"


def _key(raw: str) -> Key:
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    if ":" in raw:
        return raw
    value = int(raw)
    if value > MAX_ID:
        raise NotFound(f"no entity with id {raw}")
    return value


def _tokens(path: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    pos = 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None:
            raise InvalidParameter("path", f"cannot read the resource path at position {pos + 1}")
        out.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(path):
            if path[pos] != "/":
                raise InvalidParameter("path", f"expected '/' at position {pos + 1}")
            pos += 1
            if pos == len(path):
                break  # a trailing slash is harmless
    return out


def parse_path(path: str) -> ResourcePath:
    """`path` is what follows the service root, without the leading slash."""
    if path in ("", "/"):
        return ResourcePath()
    tokens = _tokens(path)
    name, raw_id = tokens[0]
    if name == "CreateObservations" and len(tokens) == 1 and raw_id is None:
        return ResourcePath(action=name)
    if name not in BY_PLURAL:
        raise NotFound(f"no entity set '{name}'")
    segments = [Segment(name, BY_PLURAL[name], _key(raw_id) if raw_id else None)]
    for index, (name, raw_id) in enumerate(tokens[1:], start=1):
        rest = tokens[index + 1 :]
        last = segments[-1]
        if name == "$ref":
            if rest or raw_id:
                raise NotFound("$ref must end the path")
            return ResourcePath(tuple(segments), ref=True)
        if last.is_collection:
            raise NotFound(f"'{name}' cannot follow the collection '{last.name}'")
        rel = last.type.rel.get(name)
        if rel is None:
            return _property_path(segments, last.type, name, raw_id, rest)
        if raw_id is not None and not rel.many:
            raise NotFound(f"'{name}' is a single entity and takes no id")
        segments.append(Segment(name, target(rel), _key(raw_id) if raw_id else None, rel))
    return ResourcePath(tuple(segments))


def _property_path(
    segments: list[Segment],
    etype: EntityType,
    name: str,
    raw_id: str | None,
    rest: list[tuple[str, str | None]],
) -> ResourcePath:
    if name not in etype.prop and name != "id" or raw_id is not None:
        raise NotFound(f"{etype.name} has no property or relation '{name}'")
    if not rest:
        return ResourcePath(tuple(segments), member=name)
    if rest == [("$value", None)]:
        return ResourcePath(tuple(segments), member=name, value=True)
    raise NotFound(f"nothing below the property '{name}' but $value")
