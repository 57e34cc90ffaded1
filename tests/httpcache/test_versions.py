"""Source versions: files by time and size (a GeoPackage with its write-ahead log), a
PostGIS version_query's row."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import SourceVersion, file_version
from connectors.geopackage import GeoPackageConnector
from connectors.postgis.table import row_version


def test_a_file_version_changes_with_time_or_size_and_names_its_time(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("[1]")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    first = file_version(path)
    assert first.modified == datetime.fromtimestamp(1_700_000_000, UTC)
    path.write_text("[2]")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert file_version(path) == first  # same size and time: the limit of the method
    path.write_text("[1, 2]")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert file_version(path) != first


def test_a_geopackage_commit_seen_only_in_its_wal_changes_the_version(tmp_path: Path) -> None:
    path = tmp_path / "data.gpkg"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # commits stay in the -wal file
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.commit()
    config = GeoPackageConnector.Config(path=str(path), table="t")
    connector = GeoPackageConnector(config, base_dir=tmp_path, name="x/t")
    before = connector.version()
    main_file = path.stat()
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    assert path.stat().st_mtime_ns == main_file.st_mtime_ns  # only the log changed
    assert connector.version() != before
    conn.close()


def test_a_version_query_row_is_the_tag_and_its_latest_time_the_modification() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)
    aware = datetime(2026, 1, 1, tzinfo=UTC)
    v = row_version((42, naive, aware))
    assert v.modified == naive.replace(tzinfo=UTC)
    assert v.tag != row_version((43, naive, aware)).tag
    assert row_version((42,)) == SourceVersion("42", None)
