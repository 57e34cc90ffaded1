"""MapServer 8 behind lighttpd FastCGI as a process, without pytest: the test fixtures
(tests/mapserver.py) and the benchmarks (bench/features_wfs.py) start it the same way.

`start_mapserver(workdir, maps)` writes the MapServer config file (MS_MAP_PATTERN and one
MAPS entry per mapfile), a lighttpd config with `processes` FastCGI `mapserv` processes, and
starts lighttpd on a free loopback port. Mapfiles are given as text; `{base_url}` and
`{workdir}` in them are filled in (a mapfile must name its own online resource). URLs:

    WFS:              http://127.0.0.1:PORT/ms?map=KEY   (handle.wfs_url(KEY))
    OGC API Features: http://127.0.0.1:PORT/ms/KEY/ogcapi (handle.ogcapi_url(KEY))

Without mapserv or lighttpd it raises MapServerMissing (the fixture skips or fails on it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

MAPSERV = "/usr/lib/cgi-bin/mapserv"
OGCAPI_TEMPLATES = "/usr/share/mapserver/ogcapi/templates/html-plain/"
# MapServer's GeoJSON output, as a mapfile declares it (the OGR driver, streamed)
GEOJSON_OUTPUTFORMAT = """  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json; subtype=geojson"
    FORMATOPTION "STORAGE=stream"
    FORMATOPTION "FORM=SIMPLE"
  END
"""
_METHODS = frozenset({"GET", "POST", "HEAD"})


class MapServerMissing(RuntimeError):
    """mapserv or lighttpd is not installed."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        """End lighttpd and its mapserv processes: lighttpd leaves its FastCGI children
        running when it exits, so its whole process group (its own session) is ended."""
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.process.poll()
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait(timeout=5)


def _lighttpd_conf(workdir: Path, port: int, processes: int, log_requests: bool) -> str:
    log = "enable" if log_requests else "disable"
    return f"""
server.modules = ("mod_fastcgi")
server.document-root = "{workdir}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{workdir}/error.log"
debug.log-request-header = "{log}"
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


def start_mapserver(
    workdir: Path, maps: dict[str, str], *, processes: int = 1, log_requests: bool = True
) -> MapServerHandle:
    """Serve `maps` (key -> mapfile text) through lighttpd + mapserv on a free port.
    `log_requests=False` leaves out the request log behind `requests()` (a benchmark's
    hundred thousand requests need no record)."""
    lighttpd = shutil.which("lighttpd") or (
        "/usr/sbin/lighttpd" if Path("/usr/sbin/lighttpd").exists() else None
    )
    if lighttpd is None or not Path(MAPSERV).exists():
        raise MapServerMissing(
            "MapServer (cgi-mapserver) and lighttpd (run scripts/setup-system.sh)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/ms"
    for key, text in maps.items():
        mapfile = text.replace("{base_url}", base_url).replace("{workdir}", str(workdir))
        (workdir / f"{key}.map").write_text(mapfile, encoding="utf-8")
    (workdir / "mapserver.conf").write_text(_mapserver_conf(workdir, list(maps)), "utf-8")
    conf = workdir / "lighttpd.conf"
    conf.write_text(_lighttpd_conf(workdir, port, processes, log_requests), encoding="utf-8")
    log = (workdir / "lighttpd.out").open("wb")
    process = subprocess.Popen(
        [lighttpd, "-D", "-f", str(conf)], stdout=log, stderr=log, start_new_session=True
    )
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


__all__ = ["MAPSERV", "OGCAPI_TEMPLATES", "MapServerHandle", "MapServerMissing", "start_mapserver"]
