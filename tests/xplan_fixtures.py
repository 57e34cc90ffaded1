"""MapServer serving the two demo cities' land-use plans over WFS 2.0, XPlanSynWFS style.

`write_plan_data(folder)` writes the cities' plan files (gateway/demo/plans.py, the same
bytes the embedded demo reads) and `plan_mapfiles(folder)` returns one mapfile per city,
keyed like the services (`xplan_hamburg`, `xplan_leipzig`), for
`tests.mapserver.start_mapserver`. Each service publishes one feature type, `xplan:BP_Plan`, in the
XPlanSyn namespace, from the GeoJSON file through OGR:

- Hamburg (EPSG:25832) offers GeoJSON and GML output; its feature id is XPlanSyn's `gmlId`.
- Leipzig (EPSG:25833) offers GML only (as a deegree XPlanSynWFS does), so the connector's
  GML path runs against a real server; its feature id is the plan manager's integer id.

The fixture `mapserver_xplan` starts one MapServer for both (session scope); without
mapserv or lighttpd it skips locally and fails in CI, as `tests.mapserver` decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.plans import CRS, PLAN_FILES, write_plans
from tests.mapserver import MapServerHandle, start_mapserver
from tests.mapserver_process import GEOJSON_OUTPUTFORMAT

XPLAN_NS = "http://www.deegree.org/xplanung/1/0"
TYPE_NAME = "xplan:BP_Plan"
SEED = 2024
SERVICES = {"hamburg": "xplan_hamburg", "leipzig": "xplan_leipzig"}
FEATURE_ID = {"hamburg": "gmlId", "leipzig": "xplanMgrPlanId"}
EXTENT = {
    "hamburg": "550000 5915000 590000 5955000",
    "leipzig": "305000 5680000 330000 5700000",
}
OTHER_SRS = "EPSG:4326 EPSG:4258"  # after the city's own CRS, which MapServer makes the default
# Dates are xs:date text in XPlanSyn; MapServer would write OGR dates as gml:TimeInstant.
DATE_TYPES = "".join(
    f'      "gml_{name}_type" "Character"\n'
    for name in (
        "technHerstellDatum",
        "aufstellungsbeschlussDatum",
        "satzungsbeschlussDatum",
        "inkrafttretensDatum",
    )
)
GEOJSON_FORMAT = "\n" + GEOJSON_OUTPUTFORMAT


def write_plan_data(folder: Path, seed: int = SEED) -> dict[str, Path]:
    """The cities' plan files in `folder`; city -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {city: folder / name for city, name in PLAN_FILES.items()}
    for city, path in paths.items():
        write_plans(path, city, seed)
    return paths


def plan_mapfile(city: str, data: Path) -> str:
    """One city's XPlanSynWFS-style service: WFS 2.0, feature type xplan:BP_Plan."""
    epsg = CRS[city].split(":")[1]
    srs = f"{CRS[city]} {OTHER_SRS}"
    geojson = city == "hamburg"
    formats = '      "wfs_getfeature_formatlist" "geojson"\n' if geojson else ""
    return f"""MAP
  NAME "xplansynwfs_{city}"
  STATUS ON
  EXTENT {EXTENT[city]}
  UNITS METERS
  PROJECTION
    "init=epsg:{epsg}"
  END
{GEOJSON_FORMAT if geojson else ""}
  WEB
    METADATA
      "wfs_title" "XPlanSynWFS {city.title()} (TwinBridge test data)"
      "wfs_abstract" "Bebauungspläne (XPlanung BP_Plan), synthesised flat schema"
      "wfs_onlineresource" "{{base_url}}?map={SERVICES[city]}&"
      "wfs_srs" "{srs}"
      "wfs_enable_request" "*"
      "wfs_namespace_prefix" "xplan"
      "wfs_namespace_uri" "{XPLAN_NS}"
{formats}    END
  END

  LAYER
    NAME "BP_Plan"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "{data}"
    DATA "BP_Plan"
    PROJECTION
      "init=epsg:{epsg}"
    END
    TEMPLATE "unused"
    METADATA
      "wfs_title" "Bebauungspläne {city.title()}"
      "wfs_srs" "{srs}"
      "wfs_enable_request" "*"
      "gml_include_items" "all"
      "gml_featureid" "{FEATURE_ID[city]}"
      "gml_types" "auto"
      "gml_geometries" "raeumlicherGeltungsbereich"
      "gml_raeumlicherGeltungsbereich_type" "multipolygon"
{DATE_TYPES}    END
  END
END
"""


def plan_mapfiles(paths: dict[str, Path]) -> dict[str, str]:
    """Service key -> mapfile text, for tests.mapserver.start_mapserver."""
    return {SERVICES[city]: plan_mapfile(city, path) for city, path in paths.items()}


@pytest.fixture(scope="session")
def plan_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_plan_data(tmp_path_factory.mktemp("xplan-data"))


@pytest.fixture(scope="session")
def mapserver_xplan(
    plan_data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MapServerHandle]:
    """One MapServer (lighttpd FastCGI) serving both cities; `.wfs_url(SERVICES[city])`."""
    handle = start_mapserver(tmp_path_factory.mktemp("xplan-ms"), plan_mapfiles(plan_data))
    try:
        yield handle
    finally:
        handle.stop()
