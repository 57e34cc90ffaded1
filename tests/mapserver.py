"""MapServer 8 behind lighttpd FastCGI, started by the test run (a real WFS 2.0 and a real
OGC API – Features server, not a mock).

`start_mapserver(workdir, maps)` is tests/mapserver_process.py's (which the benchmarks use
too, without pytest): it writes the MapServer and lighttpd configs and starts lighttpd with
one FastCGI `mapserv` process on a free loopback port. Mapfiles are given as text;
`{base_url}` and `{workdir}` in them are filled in (a mapfile must name its own online
resource). URLs:

    WFS:              http://127.0.0.1:PORT/ms?map=KEY   (handle.wfs_url(KEY))
    OGC API Features: http://127.0.0.1:PORT/ms/KEY/ogcapi (handle.ogcapi_url(KEY))

`handle.requests()` lists the request lines lighttpd received, so a test can count what an
upstream was really asked.

The `mapserver_trees` fixture (import it into a test module, together with the `postgis`
fixture of tests/postgis_fixtures.py) serves the map `trees` with two layers:
- `trees`: the 2,000 PostGIS trees (EPSG:25832), GML 3.2/3.1 *and* GeoJSON output;
- `baeume`: the six trees of tests/connectors/gpkg_fixture.py from a GeoPackage, GML only
  (no GeoJSON offered), so a client's GML path runs against a real server.
Both are also published through MapServer's OGC API – Features.
Without mapserv or lighttpd the fixture skips locally and fails in CI.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import mapserver_process
from tests.conftest import missing_service
from tests.connectors.gpkg_fixture import write_gpkg
from tests.mapserver_process import (
    GEOJSON_OUTPUTFORMAT,
    OGCAPI_TEMPLATES,
    MapServerHandle,
    MapServerMissing,
)
from tests.postgis_fixtures import PostGIS


def start_mapserver(workdir: Path, maps: dict[str, str], *, processes: int = 1) -> MapServerHandle:
    """tests.mapserver_process.start_mapserver, skipping (locally) or failing (in CI) when
    MapServer or lighttpd is missing."""
    try:
        return mapserver_process.start_mapserver(workdir, maps, processes=processes)
    except MapServerMissing as e:
        missing_service(str(e))
        raise


TREES_MAP = (
    """MAP
  NAME "trees"
  EXTENT 540000 5900000 600000 5960000
  PROJECTION
    "init=epsg:25832"
  END
"""
    + GEOJSON_OUTPUTFORMAT
    + """  WEB
    METADATA
      "wfs_title" "Trees"
      "wfs_onlineresource" "{base_url}?map=trees&"
      "wfs_srs" "EPSG:25832 EPSG:4326"
      "wfs_enable_request" "*"
      "oga_enable_request" "*"
      "oga_onlineresource" "{base_url}/trees/ogcapi"
      "oga_html_template_directory" "%(templates)s"
    END
  END
  LAYER
    NAME "trees"
    TYPE POINT
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "%(connection)s"
    DATA "geom from trees using unique fid using srid=25832"
    TEMPLATE "none"
    PROJECTION
      "init=epsg:25832"
    END
    METADATA
      "wfs_title" "trees"
      "wfs_getfeature_formatlist" "geojson"
      "gml_include_items" "all"
      "gml_featureid" "fid"
      "gml_types" "auto"
      "wfs_enable_request" "*"
      "oga_enable_request" "*"
    END
  END
  LAYER
    NAME "baeume"
    TYPE POINT
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "{workdir}/baeume.gpkg"
    DATA "baeume"
    TEMPLATE "none"
    PROJECTION
      "init=epsg:25832"
    END
    METADATA
      "wfs_title" "baeume"
      "gml_include_items" "all"
      "gml_exclude_items" "foto,nr"
      "gml_featureid" "nr"
      "gml_types" "auto"
      "wfs_enable_request" "*"
      "oga_enable_request" "*"
    END
  END
END
"""
)


def write_geopackage(path: Path) -> Path:
    """The GeoPackage of tests/connectors/gpkg_fixture.py with its fid copied into a column
    `nr`: MapServer's OGR layers cannot name the fid as gml_featureid."""
    write_gpkg(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE baeume ADD COLUMN nr INTEGER")
        conn.execute("UPDATE baeume SET nr = fid")
        conn.commit()
    return path


def trees_mapfile(db: PostGIS) -> str:
    """The `trees` map over the test database (see the module docstring)."""
    connection = f"host={db.host} port={db.port} user={db.user} dbname={db.database}"
    return TREES_MAP % {"connection": connection, "templates": OGCAPI_TEMPLATES}


@pytest.fixture(scope="session", name="mapserver_trees")
def mapserver_trees_fixture(
    postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MapServerHandle]:
    workdir = tmp_path_factory.mktemp("mapserver")
    write_geopackage(workdir / "baeume.gpkg")
    handle = start_mapserver(workdir, {"trees": trees_mapfile(postgis)})
    try:
        yield handle
    finally:
        handle.stop()


__all__ = [
    "MapServerHandle",
    "mapserver_trees_fixture",
    "start_mapserver",
    "trees_mapfile",
]
