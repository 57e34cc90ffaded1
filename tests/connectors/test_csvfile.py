"""CSV connector: German encodings and decimal comma, column typing, WKT, ids, bad files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import connectors.csvfile
from connectors.base import CRS84
from connectors.csvfile import CSVConnector

GERMAN = (
    "Nr;Straße;Höhe;Anzahl;PLZ;Bemerkung;Rechtswert;Hochwert\n"
    "7;Große Bäckerstraße;12,5;3;20095;;566000,0;5934000,0\n"
    "8;Jungfernstieg;8;;20354;schön;566500;5935500\n"
)


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def make(path: Path, **options: Any) -> CSVConnector:
    config = CSVConnector.Config(path=path.name, **options)
    return CSVConnector(config, base_dir=path.parent, name="hh/data")


def german(tmp_path: Path, **options: Any) -> CSVConnector:
    path = write(tmp_path, GERMAN, encoding="latin-1")
    defaults = {"delimiter": ";", "encoding": "latin-1", "decimal": ",", "crs": "EPSG:25832"}
    return make(path, x="Rechtswert", y="Hochwert", **defaults, **options)


def test_latin1_semicolon_decimal_comma_with_umlauts(tmp_path: Path) -> None:
    description, records = german(tmp_path).load()
    assert records[0]["properties"] == {
        "Nr": 7,
        "Straße": "Große Bäckerstraße",
        "Höhe": 12.5,
        "Anzahl": 3,
        "PLZ": 20095,
        "Bemerkung": None,
    }
    assert records[1]["properties"]["Höhe"] == 8.0
    assert records[1]["properties"]["Anzahl"] is None
    assert records[1]["properties"]["Bemerkung"] == "schön"
    assert {f.name: f.type for f in description.fields} == {
        "Nr": "integer",
        "Straße": "string",
        "Höhe": "number",
        "Anzahl": "integer",
        "PLZ": "integer",
        "Bemerkung": "string",
    }


def test_coordinates_transform_to_crs84_and_are_not_repeated(tmp_path: Path) -> None:
    description, records = german(tmp_path).load()
    x, y = records[0]["geometry"]["coordinates"]
    assert x == pytest.approx(9.9962, abs=1e-4) and y == pytest.approx(53.5507, abs=1e-4)
    assert "Rechtswert" not in records[0]["properties"]
    assert description.storage_crs == "http://www.opengis.net/def/crs/EPSG/0/25832"
    assert description.geometry_type == "Point"
    assert description.bbox[0] == pytest.approx(x) and description.bbox[3] > y


def test_default_crs_reads_x_as_longitude(tmp_path: Path) -> None:
    path = write(tmp_path, "name,lat,lon\nRathaus,53.5507,9.9962\n")
    description, records = make(path, x="lon", y="lat").load()
    assert records[0]["geometry"] == {"type": "Point", "coordinates": [9.9962, 53.5507]}
    assert description.storage_crs.endswith("/EPSG/0/4326")


def test_all_coordinates_go_through_one_transform_call(tmp_path: Path, monkeypatch) -> None:
    rows = "".join(f"{i},{566000 + i},{5934000 + i}\n" for i in range(2000))
    path = write(tmp_path, "id,x,y\n" + rows)
    calls: list[int] = []
    original = connectors.csvfile.transform_xy

    def counting(xs: np.ndarray, ys: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(xs))
        return original(xs, ys, crs)

    monkeypatch.setattr(connectors.csvfile, "transform_xy", counting)
    _, records = make(path, x="x", y="y", crs="EPSG:25832").load()
    assert calls == [2000] and len(records) == 2000


def test_rows_without_coordinates_have_no_geometry(tmp_path: Path) -> None:
    path = write(tmp_path, "name,x,y\na,9.9,53.5\nb,,\n")
    description, records = make(path, x="x", y="y").load()
    assert records[1]["geometry"] is None
    assert description.bbox == (9.9, 53.5, 9.9, 53.5)


def test_columns_are_typed_as_a_whole(tmp_path: Path) -> None:
    text = "hausnr,plz,wert,text,leer,x,y\n12,01067,1.5,a,,9,53\n12a,20095,2,b,,9,53\n"
    description, records = make(write(tmp_path, text), x="x", y="y").load()
    assert records[0]["properties"] == {
        "hausnr": "12",  # one "12a" keeps the column text
        "plz": "01067",  # a leading zero is not a number
        "wert": 1.5,
        "text": "a",
        "leer": None,
    }
    assert records[1]["properties"]["wert"] == 2.0
    types = {f.name: f.type for f in description.fields}
    assert types == {
        "hausnr": "string",
        "plz": "string",
        "wert": "number",
        "text": "string",
        "leer": "string",
    }


def test_decimal_point_setting_leaves_comma_values_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, "wert;x;y\n12,5;9;53\n")
    _, records = make(path, delimiter=";", x="x", y="y").load()
    assert records[0]["properties"]["wert"] == "12,5"


def test_wkt_column_in_a_projected_crs(tmp_path: Path) -> None:
    text = (
        "name;geom\n"
        "Linie;LINESTRING (566000 5934000, 567000 5934000)\n"
        "Punkt;POINT (566000 5934000)\n"
        "Leer;\n"
    )
    path = write(tmp_path, text)
    description, records = make(path, delimiter=";", wkt="geom", crs="EPSG:25832").load()
    line = records[0]["geometry"]
    assert line["type"] == "LineString"
    assert line["coordinates"][0] == pytest.approx([9.9962, 53.5507], abs=1e-4)
    assert records[1]["geometry"]["type"] == "Point"
    assert records[2]["geometry"] is None
    assert records[0]["properties"] == {"name": "Linie"}
    assert description.geometry_type == "Geometry"


def test_ids_are_row_numbers_unless_id_field_is_set(tmp_path: Path) -> None:
    assert [r["id"] for r in german(tmp_path).load()[1]] == [1, 2]
    description, records = german(tmp_path, id_field="Nr").load()
    assert [r["id"] for r in records] == [7, 8] and description.id_field == "Nr"
    assert records[0]["properties"]["Nr"] == 7


def test_utf8_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffname,x,y\na,9,53\n")
    assert make(path, x="x", y="y").load()[1][0]["properties"] == {"name": "a"}


def test_config_requires_exactly_one_geometry_source() -> None:
    with pytest.raises(ValidationError, match="both 'x' and 'y'"):
        CSVConnector.Config(path="a.csv", x="x")
    with pytest.raises(ValidationError, match="either 'x' and 'y' columns or a 'wkt'"):
        CSVConnector.Config(path="a.csv", x="x", y="y", wkt="geom")
    with pytest.raises(ValidationError, match="either 'x' and 'y' columns or a 'wkt'"):
        CSVConnector.Config(path="a.csv")
    with pytest.raises(ValidationError, match="must differ"):
        CSVConnector.Config(path="a.csv", wkt="g", decimal=",")
    with pytest.raises(ValidationError, match="unknown CRS"):
        CSVConnector.Config(path="a.csv", wkt="g", crs="EPSG:0")
    with pytest.raises(ValidationError, match="cannot be a geometry column"):
        CSVConnector.Config(path="a.csv", x="x", y="y", id_field="x")
    assert CSVConnector.Config(path="a.csv", wkt="g").crs == "EPSG:4326"


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        (None, {}, "CSV file not found"),
        ("", {}, "CSV file is empty"),
        ("a,b\n1,2\n", {}, r"no column 'x' \(columns: a, b\)"),
        ("x,y\nabc,53\n", {}, "row 1: 'abc' is not a coordinate"),
        ("x,y\n9,53\n9,53,1\n", {}, "line 3: 3 fields, the header has 2"),
        ("x,x,y\n1,2,3\n", {}, "duplicate column names: x"),
        ("n,x,y\n1,9,53\n1,9,54\n", {"id_field": "n"}, "row 2: duplicate id '1'"),
        ("n,x,y\n,9,53\n", {"id_field": "n"}, "row 1: id_field 'n' is empty"),
        ("x,y\n9,953\n", {"crs": "EPSG:4326"}, "row 1: coordinates are outside"),
        ("g\nPOINT (1\n", {"wkt": "g", "x": None, "y": None}, "row 1: invalid WKT"),
    ],
)
def test_bad_files_raise_value_errors_naming_the_file(
    tmp_path: Path, text: str | None, options: dict[str, Any], message: str
) -> None:
    path = tmp_path / "kaputt.csv"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        make(path, **{"x": "x", "y": "y", **options}).load()
    assert str(path) in str(error.value)


def test_wrong_encoding_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, GERMAN, encoding="latin-1")
    with pytest.raises(ValueError, match="not utf-8 text"):
        make(path, delimiter=";", x="Rechtswert", y="Hochwert").load()


def test_storage_crs_of_crs84_input(tmp_path: Path) -> None:
    path = write(tmp_path, "x,y\n9,53\n")
    description, _ = make(path, x="x", y="y", crs=CRS84).load()
    assert description.storage_crs == CRS84
