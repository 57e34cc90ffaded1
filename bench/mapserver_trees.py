"""MapServer 8 publishing the street trees of a benchmark database as WFS 2.0 and OGC API –
Features (features_wfs.py, memory_remote.py): the mapfile and its start, through
tests/mapserver_process.py as the test fixture starts it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.mapserver_process import (  # noqa: E402 (the repository's root on the path first)
    GEOJSON_OUTPUTFORMAT,
    MAPSERV,
    OGCAPI_TEMPLATES,
    MapServerHandle,
    start_mapserver,
)

MAPFILE = (
    """MAP
  NAME "trees"
  EXTENT 9.7 53.3 10.4 53.8
  PROJECTION
    "init=epsg:4326"
  END
"""
    + GEOJSON_OUTPUTFORMAT
    + """  WEB
    METADATA
      "wfs_title" "Trees"
      "wfs_onlineresource" "{base_url}?map=trees&"
      "wfs_srs" "EPSG:4326"
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
    DATA "geom from trees using unique fid using srid=4326"
    TEMPLATE "none"
    # the layer's extent given, so that MapServer need not run ST_Extent over the table
    EXTENT %(extent)s
    # FastCGI: the PostgreSQL connection is kept from one request to the next
    PROCESSING "CLOSE_CONNECTION=DEFER"
    PROJECTION
      "init=epsg:4326"
    END
    METADATA
      "wfs_title" "trees"
      %(formats)s
      "gml_include_items" "all"
      "gml_featureid" "fid"
      "gml_types" "auto"
      "wfs_enable_request" "*"
      "oga_enable_request" "*"
    END
  END
END
"""
)


def mapfile(args: argparse.Namespace, database: str, *, geojson: bool = True) -> str:
    """The `trees` map over `database` (GML only when not `geojson`)."""
    connection = f"host={args.host} port={args.port} user={args.user} dbname={database}"
    formats = '"wfs_getfeature_formatlist" "geojson"' if geojson else ""
    return MAPFILE % {
        "connection": connection,
        "templates": OGCAPI_TEMPLATES,
        "extent": "9.86 53.43 10.18 53.62",
        "formats": formats,
    }


def start_mapserver_trees(
    args: argparse.Namespace, tmp: Path, database: str, *, geojson: bool = True
) -> MapServerHandle:
    return start_mapserver(
        tmp / "mapserver",
        {"trees": mapfile(args, database, geojson=geojson)},
        processes=args.mapserver_processes,
        log_requests=False,
    )


def mapserver_version() -> str:
    out = subprocess.run([MAPSERV, "-v"], capture_output=True, text=True).stdout
    return out.split(" OUTPUT=")[0].strip()


__all__ = ["MapServerHandle", "mapfile", "mapserver_version", "start_mapserver_trees"]
