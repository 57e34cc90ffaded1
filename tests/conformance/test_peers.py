"""The suite against real peers started here: pygeoapi (gunicorn; the GeoJSON provider the
issue names, and the TinyDB provider pygeoapi's own CITE instance uses) and MapServer 8's
OGC API (Debian cgi-mapserver under lighttpd FastCGI) over a small generated point layer.

Their results are whatever they are: the tests assert only that a run completes and
writes its reports. Each run prints its summary and failures (pytest -s shows them) and
leaves its JSON and HTML report in $TWINBRIDGE_PEER_REPORTS when that is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, require_command

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
GENERA = ["Tilia", "Acer", "Quercus", "Platanus", "Betula"]


def trees(n: int = 120) -> list[dict]:
    rng = random.Random(7)
    out = []
    for i in range(1, n + 1):
        planted = (
            f"{rng.randrange(1960, 2023)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        )
        out.append(
            {
                "type": "Feature",
                "id": i,
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        round(9.8 + rng.random() * 0.4, 6),
                        round(53.45 + rng.random() * 0.2, 6),
                    ],
                },
                "properties": {
                    "tree_id": i,
                    "name": f"Baum {i}",
                    "genus": rng.choice(GENERA),
                    "height": round(3 + rng.random() * 25, 1),
                    "planted": planted,
                },
            }
        )
    return out


def wait_for(url: str, proc: subprocess.Popen, what: str) -> None:
    for _ in range(150):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url}")


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in found.stdout.split()]


def stop(proc: subprocess.Popen) -> None:
    """Stop a server and the workers it spawned (lighttpd's FastCGI mapserv outlive it)."""
    spawned = children(proc.pid)
    proc.terminate()
    for pid in spawned:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


PYGEOAPI = """server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  cors: true
  pretty_print: false
  limits: {{default_items: 10, max_items: 1000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: "OpenStreetMap"}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: Trees, description: Test trees, keywords: [trees], keywords_type: theme,
    terms_of_service: "https://example.org", url: "https://example.org"}}
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: Test, url: "https://example.org"}}
  contact: {{name: Test, position: Tester, address: Street 1, city: Hamburg, stateorprovince: HH,
    postalcode: "20095", country: Germany, phone: "+49", fax: "+49", email: "t@example.org",
    url: "https://example.org", hours: "9-5", instructions: none, role: pointOfContact}}
resources:
  trees:
    type: collection
    title: Trees
    description: Street trees (test data)
    keywords: [trees]
    links: []
    extents:
      spatial: {{bbox: [9.8, 53.45, 10.2, 53.65], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
      temporal: {{begin: 1960-01-01T00:00:00Z, end: 2023-01-01T00:00:00Z}}
    providers:
      - type: feature
        name: {provider}
        data: {data}
        id_field: {id_field}
{extra}"""


def _tool(name: str) -> str:
    """A console script of this environment (pygeoapi, gunicorn), else one on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else require_command(name)


def _pygeoapi(tmp: Path, provider: str, editable: bool = False) -> Iterator[str]:
    gunicorn = _tool("gunicorn")
    port = free_port()
    features = trees()
    if provider == "TinyDB":
        data = tmp / "trees.tinydb.json"
        for f in features:
            f["id"] = str(f["id"])  # pygeoapi's TinyDB provider matches ids as text
        docs = {"_default": {f["id"]: f for f in features}}
        data.write_text(json.dumps(docs), encoding="utf-8")
        extra = "        time_field: planted\n" + ("        editable: true\n" if editable else "")
    else:
        data = tmp / "trees.geojson"
        data.write_text(
            json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
        )
        extra = ""
    config = tmp / "pygeoapi.yml"
    config.write_text(
        PYGEOAPI.format(port=port, provider=provider, data=data, id_field="id", extra=extra),
        encoding="utf-8",
    )
    openapi = tmp / "openapi.yml"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run(
        [_tool("pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp,
    )
    proc = subprocess.Popen(
        [gunicorn, "-w", "1", "-b", f"127.0.0.1:{port}", "pygeoapi.flask_app:APP"],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", proc, "pygeoapi")
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc)


@pytest.fixture
def pygeoapi_geojson(tmp_path: Path) -> Iterator[str]:
    yield from _pygeoapi(tmp_path, "GeoJSON")


@pytest.fixture
def pygeoapi_tinydb(tmp_path: Path) -> Iterator[str]:
    yield from _pygeoapi(tmp_path, "TinyDB")


@pytest.fixture
def pygeoapi_tinydb_editable(tmp_path: Path) -> Iterator[str]:
    yield from _pygeoapi(tmp_path, "TinyDB", editable=True)


MAPFILE = """MAP
  NAME "trees"
  EXTENT 9.8 53.45 10.2 53.65
  SIZE 400 400
  UNITS DD
  PROJECTION
    "init=epsg:4326"
  END
  WEB
    METADATA
      "oga_onlineresource" "http://127.0.0.1:{port}/ms/trees/ogcapi"
      "oga_html_template_directory" "/usr/share/mapserver/ogcapi/templates/html-plain/"
      "oga_title" "Trees"
      "oga_description" "Street trees (test data)"
      "oga_enable_request" "*"
      "wfs_enable_request" "*"
    END
  END
  LAYER
    NAME "trees"
    TYPE POINT
    STATUS ON
    DATA "{data}"
    TEMPLATE "ttt"
    PROJECTION
      "init=epsg:4326"
    END
    METADATA
      "oga_enable_request" "*"
      "wfs_enable_request" "*"
      "ows_title" "Trees"
      "oga_description" "Street trees (test data)"
      "gml_include_items" "all"
      "gml_featureid" "tree_id"
      "gml_types" "auto"
    END
  END
END
"""


@pytest.fixture
def mapserver(tmp_path: Path) -> Iterator[str]:
    lighttpd = require_command("lighttpd")
    ogr2ogr = require_command("ogr2ogr")
    mapserv = Path("/usr/lib/cgi-bin/mapserv")
    if not mapserv.exists():
        from tests.conftest import missing_service

        missing_service("cgi-mapserver is not installed (run scripts/setup-system.sh)")
    port = free_port()
    geojson = tmp_path / "trees.geojson"
    geojson.write_text(
        json.dumps({"type": "FeatureCollection", "features": trees()}), encoding="utf-8"
    )
    shapefile = tmp_path / "trees.shp"
    subprocess.run([ogr2ogr, "-f", "ESRI Shapefile", str(shapefile), str(geojson)], check=True)
    (tmp_path / "trees.map").write_text(MAPFILE.format(port=port, data=shapefile), encoding="utf-8")
    (tmp_path / "mapserver.conf").write_text(
        f'CONFIG\n  ENV\n    MS_MAP_PATTERN "^{tmp_path}/"\n  END\n'
        f'  MAPS\n    "trees" "{tmp_path / "trees.map"}"\n  END\nEND\n',
        encoding="utf-8",
    )
    (tmp_path / "lighttpd.conf").write_text(
        f'server.modules = ("mod_fastcgi")\nserver.document-root = "{tmp_path}"\n'
        f'server.port = {port}\nserver.bind = "127.0.0.1"\n'
        f'server.errorlog = "{tmp_path / "error.log"}"\n'
        f'fastcgi.server = ("/ms" => (( "bin-path" => "{mapserv}", '
        f'"socket" => "{tmp_path / "mapserv.sock"}", "check-local" => "disable", "max-procs" => 1, '
        f'"bin-environment" => ("MAPSERVER_CONFIG_FILE" => "{tmp_path / "mapserver.conf"}") )))\n',
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [lighttpd, "-D", "-f", str(tmp_path / "lighttpd.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/ms/trees/ogcapi"
    try:
        wait_for(f"{url}?f=json", proc, "lighttpd/mapserv")
        yield url
    finally:
        stop(proc)


def run_and_record(name: str, url: str, tmp_path: Path, *more: str) -> dict:
    out = Path(os.environ.get("TWINBRIDGE_PEER_REPORTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    report, page = out / f"{name}.json", out / f"{name}.html"
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "conformance",
            url,
            "--quiet",
            "--json",
            str(report),
            "--html",
            str(page),
            "--timeout",
            "20",
            "--budget",
            "300",
            *more,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    took = time.perf_counter() - started
    assert done.returncode in (0, 1), done.stderr[-2000:]
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["results"] and page.exists()
    print(f"\n{name} ({url}): {doc['summary']} in {took:.1f} s")
    for r in doc["results"]:
        if r["status"] in ("fail", "error"):
            print(f"  {r['status'].upper()} {r['check']}: {r['message'][:220]}")
    return doc


def test_pygeoapi_geojson_provider(pygeoapi_geojson: str, tmp_path: Path):
    doc = run_and_record("pygeoapi-geojson", pygeoapi_geojson, tmp_path)
    assert doc["summary"]["pass"] > 20


def test_pygeoapi_tinydb_provider_as_in_its_cite_setup(pygeoapi_tinydb: str, tmp_path: Path):
    doc = run_and_record("pygeoapi-tinydb", pygeoapi_tinydb, tmp_path)
    assert doc["summary"]["pass"] > 20


def test_pygeoapi_tinydb_editable_part4_writes(pygeoapi_tinydb_editable: str, tmp_path: Path):
    """pygeoapi's TinyDB provider with `editable: true` (Part 4 in 0.21): what the write
    checks find on a real peer, recorded in the report."""
    doc = run_and_record(
        "pygeoapi-tinydb-editable", pygeoapi_tinydb_editable, tmp_path, "--allow-writes"
    )
    part4 = {r["check"]: r["status"] for r in doc["results"] if r["check"].startswith("part4/")}
    print("  Part 4:", part4)
    # 0.21 as measured here: PUT and DELETE of a missing item answer 2xx, a body that is not
    # JSON 500; no PATCH, no ETag (those two skip)
    assert {part4[c] for c in ("part4/create", "part4/replace", "part4/delete")} == {"pass"}


def test_mapserver_ogcapi(mapserver: str, tmp_path: Path):
    doc = run_and_record("mapserver", mapserver, tmp_path)
    assert doc["summary"]["pass"] > 20
