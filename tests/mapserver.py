"""MapServer 8 behind lighttpd FastCGI, started by the test run (a real WFS 2.0 and a real
OGC API – Features server, not a mock).

`start_mapserver(workdir, maps)` writes the MapServer config file (MS_MAP_PATTERN and one
MAPS entry per mapfile), a lighttpd config with one FastCGI `mapserv` process, and starts
lighttpd on a free loopback port. Mapfiles are given as text; `{base_url}` and `{workdir}` in
them are filled in (a mapfile must name its own online resource). URLs:

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
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, missing_service
from tests.connectors.gpkg_fixture import write_gpkg
from tests.postgis_fixtures import PostGIS

MAPSERV = "/usr/lib/cgi-bin/mapserv"
OGCAPI_TEMPLATES = "/usr/share/mapserver/ogcapi/templates/html-plain/"
_METHODS = frozenset({"GET", "POST", "HEAD"})


@dataclass
class MapServerHandle:
    base_url: str  # http://127.0.0.1:PORT/ms
    workdir: Path
    process: subprocess.Popen

    def wfs_url(self, key: str) -> str:
        return f"{self.base_url}?map={key}"

    def ogcapi_url(self, key: str) -> str:
        return f"{self.base_url}/{key}/ogcapi"

    def requests(self, containing: str = "") -> list[str]:
        """Request lines received so far (those holding `containing`), e.g. `GET /ms?…`.

        Read from lighttpd's error log, where `debug.log-request-header` writes each request
        at once (its access log is buffered for seconds)."""
        log = self.workdir / "error.log"
        if not log.exists():
            return []
        found = []
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            _, marker, request = line.partition(" rqst: ")
            if marker and request.split(" ", 1)[0] in _METHODS and containing in request:
                found.append(request)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _lighttpd_conf(workdir: Path, port: int, processes: int) -> str:
    return f"""
server.modules = ("mod_fastcgi")
server.document-root = "{workdir}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{workdir}/error.log"
debug.log-request-header = "enable"
server.max-request-size = 1024
fastcgi.server = ("/ms" => ((
  "bin-path" => "{MAPSERV}",
  "socket" => "{workdir}/mapserv.sock",
  "check-local" => "disable",
  "max-procs" => {processes},
  "bin-environment" => ("MAPSERVER_CONFIG_FILE" => "{workdir}/mapserver.conf")
)))
"""


def _mapserver_conf(workdir: Path, keys: list[str]) -> str:
    maps = "\n".join(f'    {key} "{workdir}/{key}.map"' for key in keys)
    pattern = f"^{workdir}/[a-z0-9_]+\\.map$"
    return f'CONFIG\n  ENV\n    MS_MAP_PATTERN "{pattern}"\n  END\n  MAPS\n{maps}\n  END\nEND\n'


def start_mapserver(workdir: Path, maps: dict[str, str], *, processes: int = 1) -> MapServerHandle:
    """Serve `maps` (key -> mapfile text) through lighttpd + mapserv on a free port."""
    lighttpd = shutil.which("lighttpd") or (
        "/usr/sbin/lighttpd" if Path("/usr/sbin/lighttpd").exists() else None
    )
    if lighttpd is None or not Path(MAPSERV).exists():
        missing_service("MapServer (cgi-mapserver) and lighttpd (run scripts/setup-system.sh)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/ms"
    for key, text in maps.items():
        mapfile = text.replace("{base_url}", base_url).replace("{workdir}", str(workdir))
        (workdir / f"{key}.map").write_text(mapfile, encoding="utf-8")
    (workdir / "mapserver.conf").write_text(_mapserver_conf(workdir, list(maps)), "utf-8")
    conf = workdir / "lighttpd.conf"
    conf.write_text(_lighttpd_conf(workdir, port, processes), encoding="utf-8")
    log = (workdir / "lighttpd.out").open("wb")
    process = subprocess.Popen([lighttpd, "-D", "-f", str(conf)], stdout=log, stderr=log)
    handle = MapServerHandle(base_url, workdir, process)
    first = next(iter(maps))
    probe = f"{handle.wfs_url(first)}&SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"lighttpd exited: {(workdir / 'lighttpd.out').read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(probe, timeout=2).status_code == 200:
                return handle
        time.sleep(0.1)
    handle.stop()
    raise RuntimeError("MapServer did not answer within 20 s")


TREES_MAP = """MAP
  NAME "trees"
  EXTENT 540000 5900000 600000 5960000
  PROJECTION
    "init=epsg:25832"
  END
  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json; subtype=geojson"
    FORMATOPTION "STORAGE=stream"
    FORMATOPTION "FORM=SIMPLE"
  END
  WEB
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
      "gml_exclude_items" "foto"
      "gml_featureid" "fid"
      "gml_types" "auto"
      "wfs_enable_request" "*"
      "oga_enable_request" "*"
    END
  END
END
"""


def trees_mapfile(db: PostGIS) -> str:
    """The `trees` map over the test database (see the module docstring)."""
    connection = f"host={db.host} port={db.port} user={db.user} dbname={db.database}"
    return TREES_MAP % {"connection": connection, "templates": OGCAPI_TEMPLATES}


@pytest.fixture(scope="session", name="mapserver_trees")
def mapserver_trees_fixture(
    postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MapServerHandle]:
    workdir = tmp_path_factory.mktemp("mapserver")
    write_gpkg(workdir / "baeume.gpkg")
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
