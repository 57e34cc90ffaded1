"""Benchmark: the gateway's memory while it streams 1,000,000 features from remote sources:
a WFS answering in GML (MapServer 8) and an upstream OGC API – Features server (tipg, or a
second TwinBridge), one `items?limit=1000000` request each.

    .venv/bin/python bench/memory_remote.py [--count 1000000] [--sources wfs,oapif]
                                            [--upstream tipg|twinbridge]

Uses the trees of memory_postgis.py (database `twinbridge_memory`, loaded when missing).
For each source in turn it starts the upstream and `twinbridge serve --workers 1` with
`server.max_limit` = N and the collection `bench/trees` from that source, then measures as
memory_postgis.py does: the peak RSS of the gateway's process (VmHWM after clear_refs)
while the whole answer is read as a stream, checked for its numberReturned.

- `wfs`: MapServer 8 (one FastCGI process) publishing the table as WFS 2.0 with GML output
  only (no GeoJSON offered, so the connector reads GML 3.2 as it arrives); the connector
  pages with COUNT=`--wfs-page-size` (default 20,000: a page of GML stays under the
  endpoint's 64 MB answer cap) and STARTINDEX.
- `oapif`: a second TwinBridge over PostGIS (keyset-cursor next links, as a state instance
  reads a city's), or with `--upstream tipg` tipg 1.6 (next links by offset: every page
  counts and skips the rows before it, so use `--oapif-page-size 10000` there); the
  connector asks for pages of `--oapif-page-size` (default: its own default, 1,000). It
  reads a page as one JSON document, so the gateway's peak grows with the page size.
Both collections get `resilience.timeout: 120` (seconds between two records): MapServer
needs seconds before the first feature of a page deep in the table (its paging is
`LIMIT … OFFSET …` without an index), more than the default 10 s allow.
The upstream's own memory is not measured. The table says whether the gateway's peak stayed
under `--target-mb` (150, issue 11) and is written to bench/results/memory_remote.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from functools import partial
from pathlib import Path
from typing import Any

import common
import features_oapif
import features_postgis
import features_wfs
import mapserver_trees
import memory_postgis
import yaml
from common import BIN, Process, console
from memory_postgis import Row
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "memory_remote.json"
SOURCES = ("wfs", "oapif")
ITEMS = "/bench/collections/trees/items"


def gateway(doc: dict[str, Any], count: int, tmp: Path, procs: list[Process], name: str) -> str:
    """`twinbridge serve` with `doc`, max_limit = count and a long per-record timeout."""
    doc["server"]["max_limit"] = count
    doc["tenants"]["bench"]["collections"]["trees"]["resilience"] = {"timeout": 120}
    config = tmp / f"{name}.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    def command(port: int) -> list[str]:
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]

    return common.launch(name, tmp, procs, command, f"{ITEMS}?limit=1")


def over_wfs(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> Row:
    ms = mapserver_trees.start_mapserver_trees(args, tmp, args.database, geojson=False)
    try:
        doc = features_wfs.twinbridge_config(
            ms.wfs_url("trees"), page_size=args.wfs_page_size, output_format="auto"
        )
        base = gateway(doc, args.count, tmp, procs, "gateway-wfs")
        console.print(f"wfs (GML): reading limit={args.count:,} …")
        row = memory_postgis.measure_url("TwinBridge ← WFS (GML)", f"{base}{ITEMS}",
                                         procs[-1], args.count)  # fmt: skip
        common.stop(procs.pop())
        return row
    finally:
        ms.stop()


def upstream_oapif(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> str:
    """The upstream collection's URL (tipg or a second TwinBridge over PostGIS)."""
    if args.upstream == "tipg":
        env = dict(os.environ, TIPG_MAX_FEATURES_PER_QUERY=str(args.oapif_page_size or 10_000))
        ready = "/collections/public.trees/items?limit=1"
        command = partial(features_oapif.tipg_command, args, env)
        return common.launch("tipg", tmp, procs, command, ready, env) + ready.split("/items")[0]
    doc = features_postgis.twinbridge_config(args)
    config = tmp / "upstream.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    def command(port: int) -> list[str]:
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]

    return common.launch("upstream", tmp, procs, command, f"{ITEMS}?limit=1") + ITEMS[:-6]


def over_oapif(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> Row:
    upstream = upstream_oapif(args, tmp, procs)
    source = {} if args.oapif_page_size is None else {"page_size": args.oapif_page_size}
    doc = features_oapif.twinbridge_config(upstream, **source)
    base = gateway(doc, args.count, tmp, procs, "gateway-oapif")
    console.print(f"oapif over {args.upstream}: reading limit={args.count:,} …")
    row = memory_postgis.measure_url(f"TwinBridge ← OAPIF ({args.upstream})", f"{base}{ITEMS}",
                                     procs[-1], args.count)  # fmt: skip
    common.stop(procs.pop())
    common.stop(procs.pop())
    return row


def report(rows: list[Row], args: argparse.Namespace) -> None:
    table = Table(title=f"one items?limit={args.count:,} page through the gateway (1 worker)")
    for name in ("source", "answer", "time", "MB/s", "RSS before", "peak RSS", "growth"):
        table.add_column(name, justify="left" if name == "source" else "right")
    for row in rows:
        rate = row.answer_mb / row.seconds if row.seconds else 0.0
        name = row.server + (" [red]FAILED[/red]" if row.problem else "")
        table.add_row(
            name,
            f"{row.answer_mb:,.0f} MB",
            f"{row.seconds:,.1f} s",
            f"{rate:,.1f}",
            f"{row.rss_before_mb:,.0f} MB",
            f"{row.peak_rss_mb:,.0f} MB",
            f"{row.peak_rss_mb - row.rss_before_mb:,.0f} MB",
        )
    console.print(table)
    for row in rows:
        if row.problem:
            console.print(f"[yellow]{row.server}: {row.problem}[/yellow]", soft_wrap=True)
    met = all(not r.problem and r.peak_rss_mb < args.target_mb for r in rows)
    verdict = "[green]met[/green]" if met else "[red]NOT met[/red]"
    console.print(f"target: the gateway's peak RSS under {args.target_mb:,} MB: {verdict}")
    settings = {"trees": args.count, "sources": args.sources, "upstream": args.upstream}
    settings |= {"wfs_page_size": args.wfs_page_size, "oapif_page_size": args.oapif_page_size}
    settings |= {"mapserver": mapserver_trees.mapserver_version()}
    packages = ("twinbridge", "tipg", "httpx", "lxml", "uvicorn", "orjson")
    common.save_results(RESULTS, settings, packages, [r.__dict__ for r in rows])


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(features_postgis.ensure_trees(dsn, args.database, args.count))
    rows = []
    if "wfs" in args.sources:
        rows.append(over_wfs(args, tmp, procs))
    if "oapif" in args.sources:
        rows.append(over_oapif(args, tmp, procs))
    report(rows, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="trees, and the limit")
    parser.add_argument(
        "--sources",
        type=lambda text: [s for s in text.split(",") if s],
        default=list(SOURCES),
        help="comma-separated: wfs, oapif (default both)",
    )
    parser.add_argument("--upstream", choices=("tipg", "twinbridge"), default="twinbridge")
    parser.add_argument(
        "--oapif-page-size", type=int, default=None, help="the oapif connector's page_size"
    )
    parser.add_argument("--wfs-page-size", type=int, default=20_000, help="COUNT per GetFeature")
    parser.add_argument("--mapserver-processes", type=int, default=1, help="FastCGI mapserv")
    parser.add_argument("--target-mb", type=int, default=150, help="the most the peak may be")
    parser.add_argument("--database", default="twinbridge_memory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args()
    for source in args.sources:
        if source not in SOURCES:
            parser.error(f"unknown source {source!r}")
    common.main_with_servers(args, run, "twinbridge-bench-memory-remote-")


if __name__ == "__main__":
    main()
