"""Reach a source for the wizard: a source block (as in a configuration), a collection of a
configuration (`config.yaml#tenant/collection`), a data file, or an OGC API URL; read its
description, a sample, or every record, through the connector the block names."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connectors.base import Description, FeatureConnector, Record, SourceQuery
from gateway.config import ConfigError, expand_env, format_validation_error
from gateway.registry import connector_class

NAME = "wizard/source"
COORDINATE_NAMES = {
    "x": ("x", "lon", "lng", "longitude", "längengrad", "laengengrad", "rechtswert", "rw"),
    "y": ("y", "lat", "latitude", "breitengrad", "hochwert", "hw", "northing"),
}


@dataclass
class SourceSpec:
    """A source block and the folder its relative paths start from. `written` is the block
    as its file has it (`${VAR}` unexpanded): the draft prints that, never a secret."""

    block: dict[str, Any]
    base_dir: Path
    origin: str
    written: dict[str, Any] | None = None

    @property
    def shown(self) -> dict[str, Any]:
        return self.written if self.written is not None else self.block


def resolve(source: str, cwd: Path | None = None) -> SourceSpec:
    """Turn the `--source` argument into a source block."""
    cwd = cwd or Path.cwd()
    if source.startswith(("http://", "https://")):  # an OGC API collection (or its items)
        url = source.split("?", 1)[0].rstrip("/").removesuffix("/items")
        return SourceSpec({"connector": "oapif", "url": url}, cwd, source)
    path_text, _, collection = source.partition("#")
    path = Path(path_text)  # kept as given: the draft's `path` is relative to where it runs
    if collection:
        return _from_config(path, collection)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _from_yaml(path)
    if suffix in (".geojson", ".json"):
        return SourceSpec({"connector": "geojson", "path": str(path)}, cwd, source)
    if suffix == ".gpkg":
        block = {"connector": "geopackage", "path": str(path), "table": _table(path)}
        return SourceSpec(block, cwd, source)
    if suffix in (".csv", ".txt"):
        return SourceSpec(csv_block(path), cwd, source)
    raise ConfigError(f"{source}: give a source block (.yaml), a .geojson/.csv/.gpkg file or a URL")


def _from_config(path: Path, collection: str) -> SourceSpec:
    """One collection's source block; only its own `${VAR}`s need be set."""
    data = _read_yaml(path)
    tenant, _, cid = collection.partition("/")
    try:
        block = data["tenants"][tenant]["collections"][cid]["source"]
    except (KeyError, TypeError):
        raise ConfigError(f"{path}: no collection '{collection}' (tenant/collection)") from None
    return _spec(block, path, f"{path}#{collection}")


def _from_yaml(path: Path) -> SourceSpec:
    data = _read_yaml(path)
    if isinstance(data.get("source"), dict):
        data = data["source"]  # a collection block
    return _spec(data, path, str(path))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _spec(block: Any, path: Path, origin: str) -> SourceSpec:
    if not isinstance(block, dict) or "connector" not in block:
        raise ConfigError(f"{origin}: expected a source block with a 'connector' key")
    try:
        expanded = expand_env(block)
    except ConfigError as e:
        raise ConfigError(f"{origin}: source.{e}") from None
    return SourceSpec(expanded, path.parent.resolve(), origin, written=block)


def _table(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY 1"
        ).fetchone()
    if row is None:
        raise ConfigError(f"{path}: no feature table in gpkg_contents")
    return str(row[0])


def csv_block(path: Path) -> dict[str, Any]:
    """A CSV's delimiter, encoding, decimal separator and coordinate columns, sniffed."""
    raw = path.read_bytes()[:65536]
    try:
        text, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("latin-1"), "latin-1"
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=";,\t|")
    rows = list(csv.reader(text.splitlines()[:50], delimiter=dialect.delimiter))
    header = rows[0] if rows else []
    block: dict[str, Any] = {"connector": "csv", "path": str(path)}
    block["delimiter"] = dialect.delimiter
    if encoding != "utf-8":
        block["encoding"] = encoding
    cells = [c for row in rows[1:] for c in row]
    if dialect.delimiter != "," and sum(_decimal_comma(c) for c in cells) > len(rows) // 2:
        block["decimal"] = ","
    for axis, names in COORDINATE_NAMES.items():
        found = next((h for h in header if h.strip().lower() in names), None)
        if found:
            block[axis] = found
    if "x" in block and "y" in block and len(rows) > 1:
        x, y = (_number(rows[1][header.index(block[a])]) for a in ("x", "y"))
        block["crs"] = guess_crs(x, y)
    return block


def _number(cell: str) -> float | None:
    try:
        return float(cell.strip().replace(",", "."))
    except ValueError:
        return None


def guess_crs(x: float | None, y: float | None) -> str:
    """The CRS German coordinates are most likely in, from their magnitude: lon/lat, UTM
    zone 32 or 33 (ETRS89; zone 33 east of about 12° E lies below x = 420 km in zone 33's
    own grid), or Gauss-Krüger (the zone is the easting's first digit). A guess: the
    draft says so."""
    if x is None or y is None or (-180 <= x <= 180 and -90 <= y <= 90):
        return "EPSG:4326"
    if 1_000_000 <= x < 6_000_000 and 5_000_000 <= y < 6_200_000:
        return f"EPSG:{31464 + int(x // 1_000_000)}"
    return "EPSG:25833" if x < 420_000 else "EPSG:25832"


def _decimal_comma(cell: str) -> bool:
    head, sep, tail = cell.strip().partition(",")
    return bool(sep) and head.lstrip("-").isdigit() and tail.isdigit()


def build(spec: SourceSpec) -> FeatureConnector:
    """The connector the block names, configured as the gateway would."""
    block = dict(spec.block)
    try:
        cls = connector_class(str(block.pop("connector")))
    except (LookupError, TypeError) as e:
        raise ConfigError(f"{spec.origin}: connector: {e}") from None
    try:
        config = cls.Config.model_validate(block)
    except ValidationError as e:
        raise ConfigError(format_validation_error(spec.origin, e)) from None
    return cls(config, base_dir=spec.base_dir, name=NAME)


async def describe_and_sample(
    connector: FeatureConnector, limit: int
) -> tuple[Description, list[Record]]:
    """The source's description and its first `limit` records."""
    await connector.open()
    try:
        description = await connector.describe()
        result = await connector.query(SourceQuery(limit=limit))
        records = [r async for r in result.records][:limit]
    finally:
        await connector.close()
    return description, records


async def total(connector: FeatureConnector) -> int | None:
    """The exact number of records, where the connector knows it cheaply."""
    if not connector.capabilities().count:
        return None
    result = await connector.query(SourceQuery(limit=1, want_count=True))
    async for _ in result.records:
        pass
    return result.number_matched


async def records(connector: FeatureConnector, page_size: int = 1000) -> AsyncIterator[Record]:
    """Every record of the source, page by page where the connector pages itself."""
    paging = connector.capabilities().paging and not connector.in_memory()  # a file: one read
    offset = 0
    while True:
        query = SourceQuery(limit=page_size, offset=offset) if paging else SourceQuery()
        result = await connector.query(query)
        n = 0
        async for record in result.records:
            n += 1
            yield record
        if not paging or n < page_size:
            return
        offset += n
