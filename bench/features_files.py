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
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import common
import httpx
from common import BIN, Process, console
from rich.table import Table

RESULTS = Path(__file__).parent / "results" / "features_files.json"
TB_ITEMS = "/hamburg/collections/strassenbaeume/items"
PG_ITEMS = "/collections/trees/items"
BBOX_SIZE = 0.02  # degrees
Box = tuple[float, float, float, float]


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


# --- servers -----------------------------------------------------------------------------


def start_twinbridge(tmp: Path, workers: int, procs: list[Process]) -> str:
    def command(port: int) -> list[str]:
        serve = [str(BIN / "twinbridge"), "serve", "--port", str(port), "--workers", str(workers)]
        return [*serve, "--log-level", "warning"]  # no per-request access log

    return common.launch("twinbridge", tmp, procs, command, f"{TB_ITEMS}?limit=1&f=json")


def start_pygeoapi(
    tmp: Path, data: Path, extent: list[float], workers: int, procs: list[Process]
) -> str:
    env = dict(os.environ)

    def command(port: int) -> list[str]:
        return common.pygeoapi_command(
            common.pygeoapi_config(port, data, extent), tmp, port, workers, env
        )

    return common.launch("pygeoapi", tmp, procs, command, f"{PG_ITEMS}?limit=1&f=json", env)


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


def measure(requests: list[Request], args: argparse.Namespace) -> list[Row]:
    for r in requests:  # warm up
        common.wrk(r.twinbridge_url, 1, args.connections)
        common.wrk(r.pygeoapi_url, 1, args.connections)
    rows = []
    for r in requests:
        tb_rps, tb_problems = common.wrk(r.twinbridge_url, args.duration, args.connections)
        pg_rps, pg_problems = common.wrk(r.pygeoapi_url, args.duration, args.connections)
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
    settings = {"workers": args.workers, "duration_s": args.duration}
    settings |= {"connections": args.connections, "features": n_features}
    packages = ("twinbridge", "pygeoapi", "gunicorn")
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


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
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-")


if __name__ == "__main__":
    main()
