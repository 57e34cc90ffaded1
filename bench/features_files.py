"""Benchmark: the demo street trees through TwinBridge and through pygeoapi, side by side.

    .venv/bin/python bench/features_files.py [--workers 1] [--duration 8] [--connections 8]

Starts TwinBridge on its embedded demo, exports exactly the features it serves for
`hamburg/strassenbaeume` (already mapped, CRS84) to a GeoJSON file, serves that file with
pygeoapi's GeoJSON provider under gunicorn with the same number of worker processes,
checks that both return the same features for each request, then measures requests/s with
wrk, alternating between the servers. The table is printed and written to
`bench/results/features_files.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results" / "features_files.json"
TB_ITEMS = "/hamburg/collections/strassenbaeume/items"
PG_ITEMS = "/collections/trees/items"
BBOX_SIZE = 0.02  # degrees
Box = tuple[float, float, float, float]
Process = subprocess.Popen[bytes]
console = Console()


@dataclass
class Request:
    label: str  # as shown in the table
    query: str  # appended to each server's items path
    twinbridge_url: str = ""
    pygeoapi_url: str = ""


@dataclass
class Row:
    request: str
    query: str
    twinbridge_rps: float
    pygeoapi_rps: float
    ratio: float
    twinbridge_problems: str  # empty when every response was 2xx and no socket error
    pygeoapi_problems: str


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> Process:
    """Start a server in its own process group, so that its workers stop with it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def stop(proc: Process) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until_up(url: str, proc: Process, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}) before answering {url}:\n{tail(log)}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"no 200 from {url} within {timeout:.0f}s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start_twinbridge(tmp: Path, workers: int, procs: list[Process]) -> str:
    port, log = free_port(), tmp / "twinbridge.log"
    cmd = [str(BIN / "twinbridge"), "serve", "--port", str(port), "--workers", str(workers)]
    procs.append(start([*cmd, "--log-level", "warning"], log))  # no per-request access log
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}{TB_ITEMS}?limit=1&f=json", procs[-1], log)
    return base


def pygeoapi_config(port: int, data: Path, extent: list[float]) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    provider = {"type": "feature", "name": "GeoJSON", "data": str(data), "id_field": "id"}
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 100, "max_items": 10000},
            # safe_dump quotes this string; unquoted, {z}/{x}/{y} would not parse
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                **{"title": "bench", "description": "bench", "keywords": ["bench"]},
                **{"url": url, "terms_of_service": url},
            },
            "license": {"name": "CC-BY-4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench"},
            "contact": {"name": "bench"},
        },
        "resources": {
            "trees": {
                "type": "collection",
                "title": "Street trees",
                "description": "The Hamburg demo street trees as TwinBridge serves them",
                "keywords": ["trees"],
                "links": [],
                "extents": {"spatial": {"bbox": extent, "crs": crs84}},
                "providers": [provider],
            }
        },
    }


def start_pygeoapi(
    tmp: Path, data: Path, extent: list[float], workers: int, procs: list[Process]
) -> str:
    port, log = free_port(), tmp / "pygeoapi.log"
    config, openapi = tmp / "pygeoapi.yml", tmp / "pygeoapi-openapi.yml"
    config.write_text(yaml.safe_dump(pygeoapi_config(port, data, extent), sort_keys=False))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    generate = [str(BIN / "pygeoapi"), "openapi", "generate", str(config), "--output-file"]
    done = subprocess.run([*generate, str(openapi)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"pygeoapi openapi generate failed:\n{done.stdout}{done.stderr}")
    cmd = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    procs.append(start([*cmd, "pygeoapi.flask_app:APP"], log, env))
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}{PG_ITEMS}?limit=1&f=json", procs[-1], log)
    return base


# --- data and requests -------------------------------------------------------------------


def get_json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=30)
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code}: {response.text[:500]}")
    return dict(response.json())


def export_features(twinbridge: str, tmp: Path) -> list[dict[str, Any]]:
    """Every feature TwinBridge serves, written as a FeatureCollection to tmp/trees.geojson."""
    everything = get_json(f"{twinbridge}{TB_ITEMS}?limit=10000&f=json")
    features: list[dict[str, Any]] = everything["features"]
    if len(features) != everything.get("numberMatched", len(features)):
        sys.exit("TwinBridge did not return every feature with limit=10000")
    doc = {"type": "FeatureCollection", "features": features}
    (tmp / "trees.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return features


def extent(features: list[dict[str, Any]]) -> list[float]:
    xs = [f["geometry"]["coordinates"][0] for f in features]
    ys = [f["geometry"]["coordinates"][1] for f in features]
    return [min(xs), min(ys), max(xs), max(ys)]


def central_bbox(features: list[dict[str, Any]]) -> Box:
    """A BBOX_SIZE box around the tree nearest the median position, no tree on an edge."""
    points = [f["geometry"]["coordinates"] for f in features]
    mx = statistics.median(p[0] for p in points)
    my = statistics.median(p[1] for p in points)
    cx, cy = min(points, key=lambda p: (p[0] - mx) ** 2 + (p[1] - my) ** 2)
    for step in range(50):  # nudge east until no tree lies within ~1 m of an edge
        x0, y0 = round(cx - BBOX_SIZE / 2 + step * 1e-4, 4), round(cy - BBOX_SIZE / 2, 4)
        box = (x0, y0, round(x0 + BBOX_SIZE, 4), round(y0 + BBOX_SIZE, 4))
        if not any(near_edge(p, box, 1e-5) for p in points):
            return box
    sys.exit("could not place a bbox without trees on its edges")


def near_edge(p: list[float], box: Box, eps: float) -> bool:
    x0, y0, x1, y1 = box
    inside_x, inside_y = x0 - eps <= p[0] <= x1 + eps, y0 - eps <= p[1] <= y1 + eps
    on_x = min(abs(p[0] - x0), abs(p[0] - x1)) < eps
    on_y = min(abs(p[1] - y0), abs(p[1] - y1)) < eps
    return (on_x and inside_y) or (on_y and inside_x)


def comparable(document: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(id, geometry, properties) of each feature, for an items or an item response."""
    features = [document] if document.get("type") == "Feature" else document["features"]
    return [(str(f["id"]), f["geometry"], f["properties"]) for f in features]


def check_same(request: Request) -> int:
    """Both servers answer 200 with the same features; returns how many."""
    tb, pg = get_json(request.twinbridge_url), get_json(request.pygeoapi_url)
    tb_features, pg_features = comparable(tb), comparable(pg)
    if tb_features != pg_features or tb.get("numberReturned") != pg.get("numberReturned"):
        tb_ids, pg_ids = [f[0] for f in tb_features], [f[0] for f in pg_features]
        sys.exit(
            f"{request.label}: servers differ: TwinBridge {len(tb_ids)} {tb_ids[:5]}…, "
            f"pygeoapi {len(pg_ids)} {pg_ids[:5]}… (ids equal: {tb_ids == pg_ids})"
        )
    return len(tb_features)


def requests_for(features: list[dict[str, Any]], twinbridge: str, pygeoapi: str) -> list[Request]:
    bbox = ",".join(str(v) for v in central_bbox(features))
    in_box = get_json(f"{twinbridge}{TB_ITEMS}?limit=100&bbox={bbox}&f=json")["features"]
    if not in_box:
        sys.exit(f"bbox {bbox} holds no trees")
    requests = [
        Request("items?limit=100", "?limit=100&f=json"),
        Request("items?limit=100&bbox", f"?limit=100&bbox={bbox}&f=json"),
        Request("items/{id}", f"/{in_box[0]['id']}?f=json"),
    ]
    for r in requests:
        r.twinbridge_url = f"{twinbridge}{TB_ITEMS}{r.query}"
        r.pygeoapi_url = f"{pygeoapi}{PG_ITEMS}{r.query}"
    return requests


# --- measuring and reporting -------------------------------------------------------------


def wrk(url: str, duration: int, connections: int) -> tuple[float, str]:
    """Requests/s and the problems wrk saw (non-2xx responses, socket errors), if any."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        sys.exit(f"cannot parse wrk output:\n{out}")
    problems = []
    if non2xx := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        problems.append(f"{non2xx.group(1)} non-2xx")
    if errors := re.search(r"Socket errors:.*", out):
        problems.append(errors.group(0).strip())
    return float(rps.group(1)), "; ".join(problems)


def measure(requests: list[Request], args: argparse.Namespace) -> list[Row]:
    for r in requests:  # warm up
        wrk(r.twinbridge_url, 1, args.connections)
        wrk(r.pygeoapi_url, 1, args.connections)
    rows = []
    for r in requests:
        tb_rps, tb_problems = wrk(r.twinbridge_url, args.duration, args.connections)
        pg_rps, pg_problems = wrk(r.pygeoapi_url, args.duration, args.connections)
        ratio = round(tb_rps / pg_rps, 2) if pg_rps else float("nan")
        rows.append(Row(r.label, r.query, tb_rps, pg_rps, ratio, tb_problems, pg_problems))
    return rows


def report(rows: list[Row], args: argparse.Namespace, n_features: int) -> None:
    table = Table(
        title=f"{n_features} street trees, {args.workers} worker process(es) each, "
        f"wrk -t1 -c{args.connections} -d{args.duration}s",
    )
    table.add_column("request")
    for column in ("TwinBridge req/s", "pygeoapi req/s", "TB/pygeoapi"):
        table.add_column(column, justify="right")
    for r in rows:
        failed = "non-2xx" in r.twinbridge_problems + r.pygeoapi_problems
        ratio = "[red]FAILED[/red]" if failed else f"{r.ratio:.1f}×"
        table.add_row(r.request, f"{r.twinbridge_rps:,.1f}", f"{r.pygeoapi_rps:,.1f}", ratio)
    console.print(table)
    for r in rows[1:]:
        console.print(f"{r.request}: {r.query}", soft_wrap=True)
    for r in rows:
        problems = {"TwinBridge": r.twinbridge_problems, "pygeoapi": r.pygeoapi_problems}
        for server, text in problems.items():
            if text:
                console.print(f"[yellow]{r.request} – {server}: {text}[/yellow]")
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
        "duration_s": args.duration,
        "connections": args.connections,
        "features": n_features,
        "versions": {p: version(p) for p in ("twinbridge", "pygeoapi", "gunicorn")},
        "rows": [asdict(r) for r in rows],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written to {RESULTS}")


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    twinbridge = start_twinbridge(tmp, args.workers, procs)
    features = export_features(twinbridge, tmp)
    pygeoapi = start_pygeoapi(tmp, tmp / "trees.geojson", extent(features), args.workers, procs)
    requests = requests_for(features, twinbridge, pygeoapi)
    for r in requests:
        n = check_same(r)
        console.print(f"same {n} feature(s) from both servers: {r.query}", soft_wrap=True)
    report(measure(requests, args), args, len(features))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="worker processes per server")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with `&`
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` runs
    procs: list[Process] = []
    with tempfile.TemporaryDirectory(prefix="twinbridge-bench-") as tmp:
        try:
            run(args, Path(tmp), procs)
        except KeyboardInterrupt:
            console.print("interrupted")
            sys.exit(130)
        finally:
            for proc in procs:
                stop(proc)


if __name__ == "__main__":
    main()
