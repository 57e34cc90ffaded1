"""CSV files with point coordinates or a WKT column, typed per column, held in memory.

German open data is often Latin-1 with `;` and a decimal comma: `encoding`, `delimiter`
and `decimal` cover that. A column is typed as a whole (integer, number or string), so
one "12a" among house numbers keeps the column text instead of mixing types; integers
with a leading zero (postcodes like 01067) stay text too.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pydantic import Field, field_validator, model_validator

from connectors.base import (
    ConnectorConfig,
    Description,
    FieldInfo,
    FieldType,
    FileConnector,
    Record,
)
from connectors.crs import (
    crs_uri,
    extent,
    geometry_type,
    to_geojson,
    transform_geometries,
    transform_xy,
)

_INTEGER = re.compile(r"[+-]?(?:0|[1-9]\d*)")
_NUMBER = {  # no leading zeros: "01067" is a postcode, not a number
    d: re.compile(rf"[+-]?(?:(?:0|[1-9]\d*)(?:\{d}\d*)?|\{d}\d+)(?:[eE][+-]?\d+)?") for d in ".,"
}
_COORDINATE = {d: re.compile(rf"[+-]?(?:\d+(?:\{d}\d*)?|\{d}\d+)(?:[eE][+-]?\d+)?") for d in ".,"}


class CSVConnector(FileConnector):
    class Config(ConnectorConfig):
        path: str = Field(description="CSV file, relative to the configuration file.")
        delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator.")
        encoding: str = Field("utf-8", description="Text encoding, e.g. latin-1 or cp1252.")
        decimal: str = Field(
            ".", pattern=r"^[.,]$", description="Decimal separator of numbers: '.' or ','."
        )
        x: str | None = Field(
            None, description="Column of the easting or longitude (always x, whatever the CRS)."
        )
        y: str | None = Field(None, description="Column of the northing or latitude.")
        wkt: str | None = Field(None, description="Column holding the geometry as WKT.")
        crs: str = Field(
            "EPSG:4326",
            description="CRS of the coordinates. x is always easting/longitude and y "
            "northing/latitude, also for EPSG:4326.",
        )
        id_field: str | None = Field(
            None, description="Column holding the feature id. Default: row number from 1."
        )

        @field_validator("crs")
        @classmethod
        def _known_crs(cls, value: str) -> str:
            crs_uri(value)
            return value

        @model_validator(mode="after")
        def _one_geometry(self) -> CSVConnector.Config:
            if (self.x is None) != (self.y is None):
                raise ValueError("give both 'x' and 'y', or neither")
            if (self.x is None) == (self.wkt is None):
                raise ValueError("give either 'x' and 'y' columns or a 'wkt' column")
            if self.decimal == self.delimiter:
                raise ValueError("'decimal' and 'delimiter' must differ")
            if self.id_field is not None and self.id_field in (self.x, self.y, self.wkt):
                raise ValueError("'id_field' cannot be a geometry column")
            return self

    config: Config

    def load(self) -> tuple[Description, list[Record]]:
        header, rows = self._read()
        cfg, path = self.config, self.path()
        geometry_columns = [c for c in (cfg.x, cfg.y, cfg.wkt) if c is not None]
        for column in [*geometry_columns, *([cfg.id_field] if cfg.id_field else [])]:
            if column not in header:
                raise ValueError(f"{path}: no column '{column}' (columns: {', '.join(header)})")
        columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
        if cfg.wkt is not None:
            geoms = self._wkt(columns[cfg.wkt])
        else:
            geoms = self._points(columns[cfg.x], columns[cfg.y])  # type: ignore[index]
        kinds: dict[str, FieldType] = {}
        typed: dict[str, list[Any]] = {}
        for name, values in columns.items():
            if name not in geometry_columns:
                kinds[name], typed[name] = _typed(values, cfg.decimal)
        ids = self._ids(typed, len(rows))
        records = [
            {"id": fid, "properties": {n: v[i] for n, v in typed.items()}, "geometry": geom}
            for i, (fid, geom) in enumerate(zip(ids, to_geojson(geoms), strict=True))
        ]
        description = Description(
            fields=tuple(FieldInfo(name, kind) for name, kind in kinds.items()),
            geometry_type="Point" if cfg.x is not None else geometry_type(geoms),
            storage_crs=crs_uri(cfg.crs),
            bbox=extent(geoms),
            id_field=cfg.id_field,
        )
        return description, records

    def _read(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows as text; short rows are padded, long rows must end empty."""
        path, cfg = self.path(), self.config
        try:
            with path.open(encoding=cfg.encoding, newline="") as f:
                reader = csv.reader(f, delimiter=cfg.delimiter)
                header = next(reader, None)
                if header is None:
                    raise ValueError(f"{path}: CSV file is empty")
                header = [h.strip() for h in header]
                header[0] = header[0].removeprefix("\ufeff")
                rows = [_fit(row, len(header), path, reader.line_num) for row in reader if row]
        except FileNotFoundError:
            raise ValueError(f"{path}: CSV file not found") from None
        except (UnicodeDecodeError, LookupError) as e:
            raise ValueError(f"{path}: not {cfg.encoding} text ({e})") from None
        except csv.Error as e:
            raise ValueError(f"{path}: not valid CSV ({e})") from None
        except OSError as e:
            raise ValueError(f"{path}: cannot read ({e.strerror})") from None
        duplicates = sorted({h for h in header if header.count(h) > 1})
        if duplicates:
            raise ValueError(f"{path}: duplicate column names: {', '.join(duplicates)}")
        return header, rows

    def _points(self, xs: list[str], ys: list[str]) -> np.ndarray:
        """Point geometries; all coordinates go through pyproj in one call."""
        x = np.array([self._coordinate(v, i) for i, v in enumerate(xs)], dtype=float)
        y = np.array([self._coordinate(v, i) for i, v in enumerate(ys)], dtype=float)
        with np.errstate(invalid="ignore"):
            lon, lat = transform_xy(x, y, self.config.crs)
            present = ~(np.isnan(x) | np.isnan(y))
            bad = present & ~((np.abs(lon) <= 360) & (np.abs(lat) <= 90))
        if bad.any():
            row = int(np.argmax(bad)) + 1
            raise ValueError(
                f"{self.path()}: row {row}: coordinates are outside {self.config.crs} "
                "(check x/y order and crs)"
            )
        points = shapely.points(np.column_stack([lon, lat]))  # unrounded: the index rounds
        return np.where(present, points, None)

    def _coordinate(self, text: str, index: int) -> float:
        text = text.strip()
        if not text:
            return float("nan")
        if not _COORDINATE[self.config.decimal].fullmatch(text):
            raise ValueError(f"{self.path()}: row {index + 1}: '{text}' is not a coordinate")
        return float(text.replace(",", "."))

    def _wkt(self, texts: list[str]) -> np.ndarray:
        geoms: list[shapely.Geometry | None] = []
        for i, text in enumerate(texts):
            try:
                geoms.append(shapely.from_wkt(text.strip()) if text.strip() else None)
            except shapely.errors.ShapelyError as e:
                raise ValueError(f"{self.path()}: row {i + 1}: invalid WKT ({e})") from None
        return transform_geometries(geoms, self.config.crs)

    def _ids(self, typed: dict[str, list[Any]], count: int) -> list[Any]:
        field = self.config.id_field
        if field is None:
            return list(range(1, count + 1))
        ids = typed[field]
        seen: set[str] = set()
        for row, fid in enumerate(ids, start=1):
            if fid is None:
                raise ValueError(f"{self.path()}: row {row}: id_field '{field}' is empty")
            if str(fid) in seen:
                raise ValueError(f"{self.path()}: row {row}: duplicate id '{fid}'")
            seen.add(str(fid))
        return ids


def _fit(row: list[str], width: int, path: Path, line: int) -> list[str]:
    if len(row) > width:
        if any(cell.strip() for cell in row[width:]):
            raise ValueError(f"{path}: line {line}: {len(row)} fields, the header has {width}")
        return row[:width]
    return row + [""] * (width - len(row))


def _column_kind(values: list[str], decimal: str) -> FieldType:
    present = [v.strip() for v in values if v.strip()]
    if present and all(_INTEGER.fullmatch(v) for v in present):
        return "integer"
    if present and all(_NUMBER[decimal].fullmatch(v) for v in present):
        return "number"
    return "string"


def _typed(values: list[str], decimal: str) -> tuple[FieldType, list[Any]]:
    """A column's type and its values: empty cells are None."""
    kind = _column_kind(values, decimal)
    if kind == "integer":
        return kind, [int(v) if v.strip() else None for v in values]
    if kind == "number":
        return kind, [float(v.strip().replace(",", ".")) if v.strip() else None for v in values]
    return kind, [v.strip() or None for v in values]


__all__ = ["CSVConnector"]
