"""The connector contract: how TwinBridge reads a backend.

Writing a connector, in five steps:

1. Subclass `FeatureConnector` and give it a nested pydantic `Config` model: its fields are
   the keys of the `source:` block in the gateway's YAML (besides `connector:`). Paths are
   resolved against `base_dir`, the folder of the configuration file.
2. `open()` connects or loads; `close()` releases. Both are called once per process, never
   per request: build what is expensive here.
3. `describe()` says what the source holds: its fields and their types, the id field, the
   geometry type, its storage CRS, its extent.
4. `capabilities()` says which parts of a `SourceQuery` the connector runs itself. The
   planner never sends more than that; whatever is left is evaluated by the gateway after
   mapping. Declaring less is always safe; declaring more than you do is a bug.
5. `query()` returns records *in source field names*: `{"id": ..., "properties": {...},
   "geometry": <GeoJSON geometry in CRS84 or None>}` (coordinates as stored, or as the
   transform to CRS84 gives them: never rounded), as an async iterator, plus
   `number_matched` when the exact count is cheap (leave it None otherwise, never guess).
   `get(id)` returns one record or None.

Register the class under the entry-point group `twinbridge.connectors` in your package's
`pyproject.toml`; the built-ins are registered exactly so.

A connector whose whole dataset lives in memory (small files) may instead subclass
`FileConnector` and implement `load()`: the gateway then maps the records once, indexes them
and answers every query from memory, reloading when `version()` changes.

Optionally, `source_version()` tells the gateway cheaply what state the data is in: HTTP
clients then get an ETag and answers from the gateway's response cache. Return None unless
the tag is certain to change with every insert, update and delete: a wrong tag serves
stale data, a missing one only costs a query.

Writing (OGC API – Features Part 4) is optional: a connector whose backend can change its
data returns True from `writable()` and implements `create`, `replace`, `update` and
`delete`. They take records in source field names, as `query()` yields them (the gateway has
run the mapping backwards), with the geometry as GeoJSON in CRS84; the connector converts to
its storage CRS. Each call is one committed change: it returns only once the backend holds it.
A connector that can also compare the stored record inside its own transaction offers
`write_if(action, id, record, expect)` (see connectors/postgis/write.py): the gateway then
checks a client's If-Match there, so no other write can land between check and write.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "json"]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

Record = dict[str, Any]
QualitySink = Callable[[str, str, str], None]  # (source name, field, problem)


def _ignore(source: str, field: str, problem: str) -> None:
    """Outside the gateway (a script, a test), left-out values are only not counted."""


class ConnectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class FieldInfo:
    """One field of a source's records. `name` is the record key (a path after
    `connectors.paths.flatten`); `path` is where the backend itself keeps the value, when
    that differs (NGSI-v2's `temperature` for the record's `temperature.value`): each
    pushdown compiler renders filters on it."""

    name: str
    type: FieldType
    title: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class Description:
    fields: tuple[FieldInfo, ...]
    geometry_type: str | None = None
    storage_crs: str = CRS84
    bbox: tuple[float, float, float, float] | None = None  # CRS84
    id_field: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """Which parts of a SourceQuery the connector runs itself."""

    bbox: bool = False
    paging: bool = False  # offset and limit
    count: bool = False  # exact number_matched in query() (None is allowed when too costly)
    filter_ops: frozenset[str] = frozenset()  # filter AST ops it evaluates exactly as the gateway
    filter_test: Callable[[Any], bool] | None = None  # a precise test; wins over filter_ops
    sort: bool = False  # sortby on its own fields (nulls last, as the gateway sorts)
    sortables: frozenset[str] | None = None  # with sort: the fields it sorts by (None: all)
    keyset: bool = False  # `after` positions when sorted by a unique key
    projection: bool = False  # reads only `fields` (records then hold exactly those, in order)


@dataclass(frozen=True)
class SourceQuery:
    """Field names here are the source's own: the planner has rewritten them."""

    limit: int | None = None
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None  # CRS84, may cross the antimeridian
    want_count: bool = False
    filter: Any = None  # connectors.filters.Expr, only ops from capabilities().filter_ops
    sortby: tuple[tuple[str, bool], ...] = ()  # (field, ascending)
    # keyset (offset 0): rows strictly after the one whose sortby values, then id, these are
    after: tuple[Any, ...] | None = None
    # the fields the gateway reads, in this order (None: all); the id still comes as "id"
    fields: tuple[str, ...] | None = None


@dataclass
class QueryResult:
    records: AsyncIterator[Record]
    number_matched: int | None = None


@dataclass(frozen=True)
class SourceVersion:
    """The state a source's data is in: `tag` (opaque) changes whenever the data does;
    `modified` is when it last changed, where the source knows (HTTP Last-Modified)."""

    tag: str
    modified: datetime | None = None


def file_version(*paths: Path) -> SourceVersion:
    """A file's (and its companions', e.g. a SQLite WAL) modification time and size; a
    companion that does not exist counts as absent. Raises OSError for the first path."""
    parts, newest = [], 0
    for index, path in enumerate(paths):
        try:
            st = path.stat()
        except FileNotFoundError:
            if index == 0:
                raise
            parts.append("-")
            continue
        parts.append(f"{st.st_mtime_ns}.{st.st_size}")
        newest = max(newest, st.st_mtime_ns)
    return SourceVersion(":".join(parts), datetime.fromtimestamp(newest / 1e9, UTC))


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""
    checked: datetime | None = None


class FeatureConnector(abc.ABC):
    Config: ClassVar[type[ConnectorConfig]]
    # set by the gateway to its data-quality counter (connectors import nothing from it)
    quality_sink: QualitySink = staticmethod(_ignore)

    def __init__(self, config: ConnectorConfig, *, base_dir: Path, name: str) -> None:
        self.config = config
        self.base_dir = base_dir
        self.name = name  # "tenant/collection", used in errors and logs

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Connect or load. Called once per process."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Called once per process."""

    @abc.abstractmethod
    async def describe(self) -> Description: ...

    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abc.abstractmethod
    async def query(self, q: SourceQuery) -> QueryResult: ...

    @abc.abstractmethod
    async def get(self, record_id: str) -> Record | None: ...

    def left_out(self, field: str, problem: str) -> None:
        """Say that a record is served without a value the backend sent (an attribute of an
        unexpected type, a geometry that does not parse): the page goes on, and operators see
        it counted per source, field and problem (`twinbridge_data_quality_total`)."""
        self.quality_sink(self.name, field, problem)

    def concurrency(self) -> int | None:
        """How many calls the backend should get at once from this process (e.g. the size
        of a connection pool); the gateway queues and sheds beyond it. None: no limit."""
        return None

    def in_memory(self) -> bool:
        """True when the gateway should hold the whole source in memory: it then calls
        `load()` (in a thread) and `version()` instead of `query()`."""
        return False

    def load(self) -> tuple[Description, list[Record]]:
        """Read everything (blocking). Only called when `in_memory()` is true."""
        raise NotImplementedError

    def version(self) -> object:
        """A value that changes when the source changes; the gateway reloads then (a
        SourceVersion also serves as the loaded data's HTTP validator)."""
        raise NotImplementedError

    async def source_version(self) -> SourceVersion | None:
        """The data's current version, when it is cheap (the gateway asks at most about
        once a second per source) and exact; None: unknown (no ETag, no response cache)."""
        return None

    def writable(self) -> bool:
        """True when create/replace/update/delete work on this source: the gateway then
        declares OGC API – Features Part 4 for the collection. A read-only backend (a file, a
        server without transactions, a read-only account) keeps the default."""
        return False

    async def create(self, record: Record) -> str:
        """Insert `{"id": given or None, "properties": {...}, "geometry": GeoJSON | None}`
        and return its id (the backend's own when none was given). A record whose id exists
        raises `connectors.errors.SourceConflict`."""
        raise NotImplementedError

    async def replace(self, record_id: str, record: Record) -> bool:
        """Replace the whole record (properties left out become null); False: no such id."""
        raise NotImplementedError

    async def update(self, record_id: str, changes: Record) -> bool:
        """Change only what `changes` holds: `properties` (a subset of fields; None sets
        null) and, when the key is present, `geometry`. False: no such id."""
        raise NotImplementedError

    async def delete(self, record_id: str) -> bool:
        """Remove the record; False: no such id."""
        raise NotImplementedError

    async def problems(self) -> list[str]:
        """Mismatches between the configuration and the source that `config check` should
        name (an unknown feature type, a CRS the server does not offer …); [] when none."""
        return []

    async def health(self) -> Health:
        try:
            await self.describe()
        except Exception as e:  # noqa: BLE001 - health reports any failure as data
            return Health(ok=False, detail=str(e))
        return Health(ok=True)


class FileConnector(FeatureConnector):
    """A source small enough to hold in memory: implement `load()` and `version()`.

    The gateway maps and indexes the loaded records itself (see gateway/query/memory.py),
    so `query()` here is a plain scan used only by `config check` and tests.
    """

    def path(self) -> Path:
        raw = Path(self.config.path)  # type: ignore[attr-defined]
        return raw if raw.is_absolute() else (self.base_dir / raw)

    def in_memory(self) -> bool:
        return True

    def version(self) -> SourceVersion:
        return file_version(self.path())

    async def source_version(self) -> SourceVersion | None:
        return self.version()

    @abc.abstractmethod
    def load(self) -> tuple[Description, list[Record]]:
        """Read the whole file (blocking; the gateway runs it in a thread)."""

    def capabilities(self) -> Capabilities:
        return Capabilities(paging=True, count=True)

    async def describe(self) -> Description:
        return self.load()[0]

    async def query(self, q: SourceQuery) -> QueryResult:
        _, records = self.load()
        end = None if q.limit is None else q.offset + q.limit
        return QueryResult(_aiter(records[q.offset : end]), number_matched=len(records))

    async def get(self, record_id: str) -> Record | None:
        _, records = self.load()
        return next((r for r in records if str(r["id"]) == record_id), None)


async def _aiter(items: Iterable[Record]) -> AsyncIterator[Record]:
    for item in items:
        yield item


def infer_type(values: Iterable[Any]) -> FieldType:
    """The narrowest field type all non-null values fit (used by schemaless sources)."""
    seen: set[type] = {type(v) for v in values if v is not None}
    if not seen:
        return "string"
    if seen <= {bool}:
        return "boolean"
    if seen <= {int}:
        return "integer"
    if seen <= {int, float}:
        return "number"
    if seen & {dict, list}:
        return "json"
    return "string"


__all__ = [
    "CRS84",
    "Capabilities",
    "ConnectorConfig",
    "Description",
    "FeatureConnector",
    "FieldInfo",
    "FileConnector",
    "Health",
    "QueryResult",
    "Record",
    "SourceQuery",
    "SourceVersion",
    "file_version",
    "infer_type",
]
