"""Benchmark: the memory one huge page costs. N street trees in PostGIS (default 1,000,000),
one `items?limit=N` request each to TwinBridge and to a peer, one worker process each.

    .venv/bin/python bench/memory_postgis.py [--count 1000000] [--peers tipg,pygeoapi]

Loads the trees with scripts/load_postgis_trees.py into the database `twinbridge_memory`
(only when the table is missing or holds another number of rows; the other benchmarks'
database keeps its 100,000), then for each server in turn: starts it with its page-size
limit raised to N (TwinBridge `server.max_limit`, tipg `TIPG_MAX_FEATURES_PER_QUERY`,
pygeoapi `limits.max_items`), asks for one small page (warm-up), resets the kernel's peak
RSS counter of the server's processes (`/proc/<pid>/clear_refs`), reads the whole
`limit=N` answer as a stream (never held by this script), checks it is complete (the
numberReturned it reports), reads the peak RSS (VmHWM in `/proc/<pid>/status`, the largest
process of the server) and stops the server before the next one starts. The table gives the
answer's size and time, the RSS before and at the peak, and the ratios TwinBridge/peer, and
says whether TwinBridge's peak stayed under `--target-mb` (200, issue 16); it is written to
bench/results/memory_postgis.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import common
import features_postgis
import httpx
import yaml
from common import BIN, Process, console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "memory_postgis.json"
ITEMS = {
    "TwinBridge": "/bench/collections/trees/items",
    "tipg": "/collections/public.trees/items",
    "pygeoapi": "/collections/trees/items",
}
RETURNED = re.compile(rb'"numberReturned"\s*:\s*(\d+)')


@dataclass
class Row:
    server: str
    answer_mb: float = 0.0
    seconds: float = 0.0
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    returned: int | None = None
    problem: str = ""
    ratios: dict[str, float | None] = field(default_factory=dict)


def server_command(
    server: str, port: int, *, args: argparse.Namespace, tmp: Path, env: dict[str, str]
) -> list[str]:
    if server == "TwinBridge":
        doc = features_postgis.twinbridge_config(args)
        doc["server"]["max_limit"] = args.count
        config = tmp / "twinbridge.yaml"
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config)]
        return [*cmd, "--port", str(port), "--workers", "1", "--log-level", "warning"]
    if server == "pygeoapi":
        command = features_postgis.pygeoapi_postgres(args, tmp, port, env)
        doc = yaml.safe_load((tmp / "pygeoapi.yml").read_text())
        doc["server"]["limits"]["max_items"] = args.count
        (tmp / "pygeoapi.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
        return [*command, "--timeout", "1800"]  # gunicorn kills a worker busy for 30 s
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    env.update(DATABASE_URL=dsn, TIPG_MAX_FEATURES_PER_QUERY=str(args.count))
    cmd = [str(BIN / "uvicorn"), "tipg.main:app", "--port", str(port), "--workers", "1"]
    return [*cmd, "--log-level", "warning", "--no-access-log"]


def processes(pid: int) -> list[int]:
    """The server's process and its descendants (gunicorn's workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo += [int(c) for c in children.read_text().split()]
    return found


def status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0]) / 1024
    return 0.0


def measure(server: str, base: str, proc: Process, count: int) -> Row:
    return measure_url(server, f"{base}{ITEMS[server]}", proc, count)


def measure_url(server: str, url: str, proc: Process, count: int) -> Row:
    """The peak RSS of `proc` (and its children) while `url?limit=count` is read."""
    row = Row(server)
    headers = {"Accept": "application/geo+json", "Accept-Encoding": "identity"}
    warm = httpx.get(f"{url}?limit=10", headers=headers, timeout=60)
    if warm.status_code != 200:
        row.problem = f"warm-up: HTTP {warm.status_code}"
        return row
    pids = processes(proc.pid)
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    row.rss_before_mb = max(status_mb(pid, "VmRSS") for pid in pids)
    size, head, tail = 0, b"", b""
    started = time.perf_counter()
    try:
        with httpx.stream("GET", f"{url}?limit={count}", headers=headers, timeout=900) as r:
            if r.status_code != 200:
                row.problem = f"HTTP {r.status_code}"
            for chunk in r.iter_raw():
                size += len(chunk)
                head = head if len(head) >= 4096 else (head + chunk)[:4096]
                tail = (tail + chunk)[-4096:]
    except httpx.HTTPError as e:
        row.problem = f"{type(e).__name__}: {e}"
    row.seconds = time.perf_counter() - started
    row.answer_mb = size / 2**20
    alive = [pid for pid in processes(proc.pid) if Path(f"/proc/{pid}").exists()]
    row.peak_rss_mb = max((status_mb(pid, "VmHWM") for pid in alive), default=0.0)
    found = RETURNED.search(tail) or RETURNED.search(head)
    row.returned = int(found.group(1)) if found else None
    if not row.problem and row.returned != count:
        row.problem = f"numberReturned {row.returned}, expected {count}"
    return row


def report(rows: list[Row], args: argparse.Namespace) -> None:
    ours = rows[0]
    for row in rows[1:]:
        ok = not (ours.problem or row.problem)
        ours.ratios[f"peak/{row.server}"] = ours.peak_rss_mb / row.peak_rss_mb if ok else None
        ours.ratios[f"time/{row.server}"] = ours.seconds / row.seconds if ok else None
    table = Table(title=f"one items?limit={args.count:,} page over PostGIS, one worker each")
    for name in ("server", "answer", "time", "MB/s", "RSS before", "peak RSS", "growth"):
        table.add_column(name, justify="left" if name == "server" else "right")
    for row in rows:
        rate = row.answer_mb / row.seconds if row.seconds else 0.0
        cells = [
            f"{row.answer_mb:,.0f} MB",
            f"{row.seconds:,.1f} s",
            f"{rate:,.1f}",
            f"{row.rss_before_mb:,.0f} MB",
            f"{row.peak_rss_mb:,.0f} MB",
            f"{row.peak_rss_mb - row.rss_before_mb:,.0f} MB",
        ]
        name = row.server + (" [red]FAILED[/red]" if row.problem else "")
        table.add_row(name, *cells)
    console.print(table)
    for name, value in ours.ratios.items():
        shown = "–" if value is None else f"{value:.2f}×"
        console.print(f"TwinBridge {name.replace('/', ' / ')}: {shown}")
    for row in rows:
        if row.problem:
            console.print(f"[yellow]{row.server}: {row.problem}[/yellow]", soft_wrap=True)
    met = not ours.problem and ours.peak_rss_mb < args.target_mb
    verdict = "[green]met[/green]" if met else "[red]NOT met[/red]"
    console.print(f"target: TwinBridge's peak RSS under {args.target_mb:,} MB: {verdict}")
    packages = ("twinbridge", "tipg", "pygeoapi", "asyncpg", "uvicorn", "orjson")
    settings = {"trees": args.count, "peers": args.peers}
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(features_postgis.ensure_trees(dsn, args.database, args.count))
    rows = []
    for server in ("TwinBridge", *args.peers):
        env = dict(os.environ)
        command = partial(server_command, server, args=args, tmp=tmp, env=env)
        base = common.launch(server, tmp, procs, command, f"{ITEMS[server]}?limit=1", env)
        console.print(f"{server}: reading limit={args.count:,} …")
        rows.append(measure(server, base, procs[-1], args.count))
        common.stop(procs.pop())
    report(rows, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="trees, and the limit")
    parser.add_argument(
        "--peers",
        type=lambda text: [p for p in text.split(",") if p],
        default=["tipg"],
        help="comma-separated: tipg, pygeoapi (default tipg)",
    )
    parser.add_argument(
        "--target-mb", type=int, default=200, help="the most TwinBridge's peak RSS may be"
    )
    parser.add_argument("--database", default="twinbridge_memory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args()
    for peer in args.peers:
        if peer not in ITEMS or peer == "TwinBridge":
            parser.error(f"unknown peer {peer!r}")
    common.main_with_servers(args, run, "twinbridge-bench-memory-")


if __name__ == "__main__":
    main()
