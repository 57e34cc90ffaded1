"""Benchmark: 100,000 street trees in PostGIS served by MapServer 8, read through TwinBridge's
`wfs` connector over MapServer's WFS 2.0 and straight from MapServer's own OGC API – Features.

    .venv/bin/python bench/features_wfs.py [--duration 8] [--connections 8] [--rounds 1]
                                           [--hits auto|true|false]

Loads the trees into `twinbridge_bench` (as features_postgis.py does, only when missing) and
starts MapServer 8 (Debian cgi-mapserver behind lighttpd, ONE FastCGI process, the start of
tests/mapserver_process.py) with one mapfile publishing the table both as WFS 2.0 (GML and
GeoJSON) and as OGC API – Features, and `twinbridge serve --workers 1` with the collection
`bench/trees` from the `wfs` connector over that WFS (GeoJSON pages, `hits` as given).
Three columns: TwinBridge, MapServer's OGC API, and MapServer's WFS asked directly for what
TwinBridge asks it (GetFeature as GeoJSON: the cost of the upstream alone).

Each answer is checked first against TwinBridge's (the same ids, coordinates within 2e-6°,
the same properties, MapServer's '' read as null); a server that answers other features is
measured but marked ≠ and gets no ratio. Requests (limit=100): the first page, a box around
central Hamburg holding 50–100 trees (all of them, so every server must return the same), a
CQL2 filter matching 84 trees (MapServer 8.0's OGC API declares no filtering: –), an item
by id, and the deep page a client reaches by following `next` from offset 89,900.
`wrk -t1 -cC -dDs --timeout 30s`, servers in turn (`--rounds N`: the median of N turns in
rotating order). The table is printed and written to bench/results/features_wfs.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import common
import features_postgis
import httpx
import yaml
from common import BIN, Process, console
from mapserver_trees import MapServerHandle, mapserver_version, start_mapserver_trees
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "bench" / "results" / "features_wfs.json"
SERVERS = ("TwinBridge", "MapServer OGC API", "MapServer WFS")
PEERS = SERVERS[1:]
CENTRE = (9.99, 53.555)  # central Hamburg: the bbox grows around it
FILTER = "planting_year > 2017 AND district = 'Altona'"  # 84 of the 100,000 trees
ITEM_ID = 54321
SRS = "urn:ogc:def:crs:EPSG::4326"
PROPERTIES = (
    "species_scientific", "species_german", "genus", "planting_year", "height_m",
    "crown_diameter_m", "trunk_circumference_cm", "district", "street", "last_update",
)  # fmt: skip


@dataclass
class Request:
    label: str
    queries: dict[str, str]  # server -> URL (a server missing: not offered)


@dataclass
class Row:
    request: str
    rps: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # server -> why not measured/2xx
    differs: dict[str, str] = field(default_factory=dict)  # server -> how its answer differs
    ratios: dict[str, float | None] = field(default_factory=dict)  # "TwinBridge/<peer>"


# --- servers -------------------------------------------------------------------------------


def twinbridge_config(wfs_url: str, **source: Any) -> dict[str, Any]:
    collection = {
        "profile": "street-trees",
        "source": {
            "connector": "wfs",
            "url": wfs_url,
            "type_name": "trees",
            "id_field": "fid",
            "empty_is_null": True,
            **source,
        },
        "mapping": {"id": "fid", "properties": {p: p for p in PROPERTIES}},
    }
    return {
        "server": {"default_limit": 10, "max_limit": 10000},
        "tenants": {"bench": {"collections": {"trees": collection}}},
    }


def start_twinbridge(
    doc: dict[str, Any], tmp: Path, procs: list[Process], name: str = "TwinBridge"
) -> str:
    config = tmp / f"{name}.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    def command(port: int) -> list[str]:
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]

    return common.launch(name, tmp, procs, command, "/bench/collections/trees/items?limit=1")


# --- requests ------------------------------------------------------------------------------


async def small_box(args: argparse.Namespace) -> tuple[float, float, float, float]:
    """A square around CENTRE holding 50–100 trees, none on its edge (bisection on its size)."""
    conn = await asyncpg.connect(host=args.host, port=args.port, user=args.user,
                                 database=args.database)  # fmt: skip
    sql = """SELECT count(*) FILTER (WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)),
                    count(*) FILTER (WHERE ST_Intersects(ST_Boundary(
                        ST_MakeEnvelope($1, $2, $3, $4, 4326)), geom))
             FROM trees"""
    low, high = 0.0, 0.05
    try:
        for _ in range(40):
            half = (low + high) / 2
            box = (CENTRE[0] - half, CENTRE[1] - half, CENTRE[0] + half, CENTRE[1] + half)
            inside, on_edge = await conn.fetchrow(sql, *box)
            if 50 <= inside <= 100 and not on_edge:
                return box
            low, high = (half, high) if inside < 50 else (low, half)
    finally:
        await conn.close()
    sys.exit("no box around the centre holds 50–100 trees")


def wfs_url(base: str, count: int = 100, **params: str) -> str:
    kvp = {
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "trees",
        "SRSNAME": SRS, "OUTPUTFORMAT": "geojson", "COUNT": str(count), **params,
    }  # fmt: skip
    return base + "&" + "&".join(f"{k}={quote(v, safe=',')}" for k, v in kvp.items())


def fes(condition: str) -> str:
    fes_ns = "http://www.opengis.net/fes/2.0"
    return f'<fes:Filter xmlns:fes="{fes_ns}">{condition}</fes:Filter>'


def prop(op: str, name: str, value: object) -> str:
    return (
        f"<fes:{op}><fes:ValueReference>{name}</fes:ValueReference>"
        f"<fes:Literal>{value}</fes:Literal></fes:{op}>"
    )


def requests_for(
    tb: str, ms: MapServerHandle, box: tuple[float, float, float, float], ogc_filters: bool
) -> list[Request]:
    items = f"{tb}/bench/collections/trees/items"
    ogc = f"{ms.ogcapi_url('trees')}/collections/trees/items"
    wfs = ms.wfs_url("trees")
    bbox = ",".join(repr(v) for v in box)
    lat_lon = ",".join(repr(box[i]) for i in (1, 0, 3, 2)) + f",{SRS}"
    cql = fes(
        "<fes:And>"
        + prop("PropertyIsGreaterThan", "planting_year", 2017)
        + prop("PropertyIsEqualTo", "district", "Altona")
        + "</fes:And>"
    )
    filtered = {
        "TwinBridge": f"{items}?limit=100&filter-lang=cql2-text&filter={quote(FILTER)}",
        "MapServer WFS": wfs_url(wfs, FILTER=cql),
    }
    if ogc_filters:
        filtered["MapServer OGC API"] = f"{ogc}?f=json&limit=100&filter={quote(FILTER)}"
    deep = next_link(f"{items}?limit=100&offset=89900")
    ogc_deep = next_link(f"{ogc}?f=json&limit=100&offset=89900")
    return [
        Request(
            "limit=100",
            {
                "TwinBridge": f"{items}?limit=100",
                "MapServer OGC API": f"{ogc}?f=json&limit=100",
                "MapServer WFS": wfs_url(wfs),
            },
        ),  # fmt: skip
        Request(
            "bbox (all 50–100 trees in it)",
            {
                "TwinBridge": f"{items}?limit=100&bbox={bbox}",
                "MapServer OGC API": f"{ogc}?f=json&limit=100&bbox={bbox}",
                "MapServer WFS": wfs_url(wfs, BBOX=lat_lon),
            },
        ),  # fmt: skip
        Request("CQL2 filter (84 trees)", filtered),
        Request(
            "item by id",
            {
                "TwinBridge": f"{items}/{ITEM_ID}",
                "MapServer OGC API": f"{ogc}/{ITEM_ID}?f=json",
                "MapServer WFS": wfs_url(
                    wfs, 1, FILTER=fes(prop("PropertyIsEqualTo", "fid", ITEM_ID))
                ),
            },
        ),  # fmt: skip
        Request(
            "next link at 90,000",
            {
                "TwinBridge": deep,
                "MapServer OGC API": ogc_deep,
                "MapServer WFS": wfs_url(wfs, STARTINDEX="90000"),
            },
        ),  # fmt: skip
    ]


def next_link(url: str) -> str:
    doc = httpx.get(url, timeout=120, headers={"Accept": "application/geo+json"}).json()
    found = next((lk["href"] for lk in doc.get("links", []) if lk["rel"] == "next"), None)
    if found is None:
        sys.exit(f"no next link in {url}")
    return str(found)


# --- checks --------------------------------------------------------------------------------


def fetch(url: str) -> tuple[dict[str, Any], str]:
    """The answer's features by id (normalised), or a problem description."""
    try:
        response = httpx.get(url, timeout=120, headers={"Accept": "application/geo+json"})
    except httpx.HTTPError as e:
        return {}, f"{type(e).__name__}: {e}"
    if response.status_code != 200:
        return {}, f"HTTP {response.status_code}: {response.text[:160]}"
    doc = response.json()
    features = [doc] if doc.get("type") == "Feature" or "features" not in doc else doc["features"]
    found = {}
    for f in features:
        props = f.get("properties") or {}
        fid = str(props.get("fid", f.get("id")))
        values = {p: None if props.get(p) == "" else props.get(p) for p in PROPERTIES}
        found[fid] = (tuple(f["geometry"]["coordinates"]), values)
    return found, ""


def difference(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """'' when both answers hold the same features, else what differs first."""
    if set(ours) != set(theirs):
        only_ours, only_theirs = len(set(ours) - set(theirs)), len(set(theirs) - set(ours))
        return f"other ids ({only_theirs} not in TwinBridge's answer, {only_ours} missing)"
    for fid, (xy, props) in ours.items():
        their_xy, their_props = theirs[fid]
        if any(abs(a - b) > 2e-6 for a, b in zip(xy, their_xy, strict=True)):
            return f"feature {fid}: coordinates {their_xy} vs {xy}"
        if props != their_props:
            wrong = [p for p in PROPERTIES if props[p] != their_props[p]]
            return f"feature {fid}: {wrong[0]} {their_props[wrong[0]]!r} vs {props[wrong[0]]!r}"
    return ""


# --- measuring and reporting ---------------------------------------------------------------


def drain(ms: MapServerHandle, timeout: float = 180) -> None:
    """Wait until MapServer has worked off what wrk left queued: lighttpd keeps the requests
    of connections wrk closed at the end of a run, and with one mapserv the next run would
    wait for them. Done when a GetCapabilities comes back at once, twice running."""
    probe = f"{ms.wfs_url('trees')}&SERVICE=WFS&VERSION=2.0.0&REQUEST=GetCapabilities"
    deadline, quick = time.monotonic() + timeout, 0
    while quick < 2 and time.monotonic() < deadline:
        started = time.monotonic()
        httpx.get(probe, timeout=timeout)
        quick = quick + 1 if time.monotonic() - started < 0.3 else 0


def wrk(
    url: str, ms: MapServerHandle, args: argparse.Namespace, duration: int
) -> tuple[float, str]:
    drain(ms)
    return common.wrk(url, duration, args.connections, 30)


def measure(requests: list[Request], ms: MapServerHandle, args: argparse.Namespace) -> list[Row]:
    rows = []
    for r in requests:
        row, urls = Row(r.label), {}
        reference, problem = fetch(r.queries["TwinBridge"])
        for server in SERVERS:
            if server not in r.queries:
                row.problems[server] = "not offered"
                continue
            found, problem = fetch(r.queries[server])
            if problem:
                row.problems[server] = problem
                continue
            if not found:
                row.problems[server] = "no features"
                continue
            if server != "TwinBridge" and (diff := difference(reference, found)):
                row.differs[server] = diff
            urls[server] = r.queries[server]
            wrk(urls[server], ms, args, 1)  # warm-up
        runs: dict[str, list[float]] = {server: [] for server in urls}
        names = list(urls)
        for round_ in range(args.rounds):
            k = round_ % len(names) if names else 0
            for server in names[k:] + names[:k]:
                rps, problems = wrk(urls[server], ms, args, args.duration)
                runs[server].append(rps)
                if problems:
                    row.problems[server] = problems
        row.rps = {server: statistics.median(values) for server, values in runs.items()}
        tb = None if failed(row, "TwinBridge") else row.rps.get("TwinBridge")
        for peer in PEERS:
            theirs = None if failed(row, peer) or peer in row.differs else row.rps.get(peer)
            row.ratios[f"TwinBridge/{peer}"] = tb / theirs if tb and theirs else None
        rows.append(row)
    return rows


def failed(row: Row, server: str) -> bool:
    return server not in row.rps or "non-2xx" in row.problems.get(server, "")


def cell(row: Row, server: str) -> str:
    if row.problems.get(server) == "not offered":
        return "–"
    if failed(row, server):
        return "[red]FAILED[/red]"
    mark = "*" * (server in row.problems) + " ≠" * (server in row.differs)
    return f"{row.rps[server]:,.1f}{mark}"


def report(rows: list[Row], args: argparse.Namespace) -> None:
    table = Table(
        title=f"{args.count:,} street trees in PostGIS; MapServer 8 (1 FastCGI process), "
        f"TwinBridge (1 worker, wfs, hits={args.hits}); wrk -t1 -c{args.connections} "
        f"-d{args.duration}s, median of {args.rounds} (requests/s)"
    )
    table.add_column("request")
    for server in SERVERS:
        table.add_column(server, justify="right")
    for peer in PEERS:
        table.add_column(f"TB/{peer.removeprefix('MapServer ')}", justify="right")
    for row in rows:
        ratios = [
            "–" if (v := row.ratios[f"TwinBridge/{p}"]) is None else f"{v:.2f}×" for p in PEERS
        ]
        table.add_row(row.request, *(cell(row, s) for s in SERVERS), *ratios)
    console.print(table)
    for row in rows:
        for server, why in row.differs.items():
            console.print(f"[yellow]≠ {row.request} – {server}: {why}[/yellow]", soft_wrap=True)
        for server, problem in row.problems.items():
            if problem != "not offered":
                console.print(f"[yellow]* {row.request} – {server}: {problem}[/yellow]")
    packages = ("twinbridge", "httpx", "lxml", "uvicorn")
    settings = {"trees": args.count, "duration_s": args.duration, "hits": args.hits}
    settings |= {"connections": args.connections, "rounds": args.rounds}
    settings |= {"mapserver": mapserver_version()}
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(features_postgis.ensure_trees(dsn, args.database, args.count))
    box = asyncio.run(small_box(args))
    ms = start_mapserver_trees(args, tmp, args.database)
    try:
        hits = {"auto": "auto", "true": True, "false": False}[args.hits]
        tb = start_twinbridge(twinbridge_config(ms.wfs_url("trees"), hits=hits), tmp, procs)
        conformance = httpx.get(f"{ms.ogcapi_url('trees')}/conformance?f=json", timeout=60)
        ogc_filters = "filter" in conformance.text
        report(measure(requests_for(tb, ms, box, ogc_filters), ms, args), args)
    finally:
        ms.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=1, help="wrk runs per server (median)")
    parser.add_argument(
        "--hits",
        choices=("auto", "true", "false"),
        default="auto",
        help="the wfs connector's `hits` setting (numberMatched from resultType=hits)",
    )
    parser.add_argument("--mapserver-processes", type=int, default=1, help="FastCGI mapserv")
    parser.add_argument("--count", type=int, default=100_000, help="trees in the table")
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-wfs-")


if __name__ == "__main__":
    main()
