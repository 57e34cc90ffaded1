"""Benchmark: compressed item pages. 100,000 street trees in PostGIS (the database of
features_postgis.py), one TwinBridge worker, `items?limit=1000` asked without compression
and with each coding (gzip, br, zstd), then the memory while compressed `limit=10000`
pages stream.

    .venv/bin/python bench/compression.py [--duration 6] [--connections 4] [--rounds 3]

For each coding: the answer's size on the wire (and a check that it decodes to the
uncompressed JSON), requests/s with `wrk -H 'Accept-Encoding: <coding>'` (`--rounds`
turns in rotating order, the median kept), and the ratios to the uncompressed answer:
requests/s (target ≥ 0.8×) and bytes (target ≥ 5× fewer). Then, per coding, the server's
peak RSS (VmHWM after resetting it through /proc/<pid>/clear_refs) while `--pages` pages of
`limit=10000` (streamed: above 1,000 features) are read one after another: flat means the
compressed streams peak where the uncompressed one does. Written to
bench/results/compression.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import brotli
import common
import features_postgis
import httpx
import orjson
import yaml
import zstandard
from common import BIN, Process, console
from memory_postgis import processes, status_mb
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "compression.json"
ITEMS = "/bench/collections/trees/items"
CODINGS = ("identity", "gzip", "br", "zstd")
DECODE = {
    "identity": lambda data: data,
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


@dataclass
class Row:
    coding: str
    page_bytes: int = 0
    rps: float = 0.0
    rounds: list[float] = field(default_factory=list)
    problems: str = ""
    rps_ratio: float | None = None
    bytes_ratio: float | None = None
    stream_mb: float = 0.0
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0


def server_command(port: int, *, args: argparse.Namespace, tmp: Path) -> list[str]:
    doc = features_postgis.twinbridge_config(args)
    config = tmp / "twinbridge.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config)]
    return [*cmd, "--port", str(port), "--workers", "1", "--log-level", "warning"]


def page_size(url: str, coding: str, expected: bytes | None) -> tuple[int, bytes, str]:
    """The bytes on the wire for `coding`, the decoded body, and a problem if any."""
    with httpx.stream("GET", url, headers={"Accept-Encoding": coding}, timeout=120) as r:
        raw = b"".join(r.iter_raw())
        sent = r.headers.get("content-encoding", "identity")
    if r.status_code != 200 or sent != coding:
        return len(raw), b"", f"HTTP {r.status_code}, Content-Encoding {sent}"
    body = DECODE[coding](raw)
    if (
        expected is not None
        and orjson.loads(body)["features"] != orjson.loads(expected)["features"]
    ):
        return len(raw), body, "decodes to other features than the uncompressed page"
    return len(raw), body, ""


def throughput(rows: list[Row], url: str, args: argparse.Namespace) -> None:
    for row in rows:
        common.wrk(url, 1, args.connections, headers={"Accept-Encoding": row.coding})  # warm-up
    for round_ in range(args.rounds):
        for i in range(len(rows)):
            row = rows[(i + round_) % len(rows)]
            headers = {"Accept-Encoding": row.coding}
            rps, problems = common.wrk(url, args.duration, args.connections, headers=headers)
            row.rounds.append(rps)
            row.problems = row.problems or problems
    for row in rows:
        row.rps = statistics.median(row.rounds)


def memory(row: Row, url: str, proc: Process, pages: int) -> None:
    """Peak RSS while `pages` streamed pages are read in `row.coding`, never held here."""
    pids = processes(proc.pid)
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    row.rss_before_mb = max(status_mb(pid, "VmRSS") for pid in pids)
    size = 0
    for _ in range(pages):
        headers = {"Accept-Encoding": row.coding}
        with httpx.stream("GET", url, headers=headers, timeout=300) as r:
            if r.status_code != 200:
                row.problems = row.problems or f"limit=10000: HTTP {r.status_code}"
            for chunk in r.iter_raw():
                size += len(chunk)
    row.stream_mb = size / pages / 2**20
    row.peak_rss_mb = max(status_mb(pid, "VmHWM") for pid in processes(proc.pid))


def report(rows: list[Row], args: argparse.Namespace) -> None:
    plain = rows[0]
    for row in rows:
        if plain.rps and row.page_bytes:
            row.rps_ratio = row.rps / plain.rps
            row.bytes_ratio = plain.page_bytes / row.page_bytes
    title = (
        f"items?limit=1000 over PostGIS, one worker; wrk -t1 -c{args.connections} "
        f"-d{args.duration}s, median of {args.rounds}"
    )
    table = Table(title=title)
    columns = ("coding", "page", "req/s", "× req/s", "× fewer bytes")
    columns += ("limit=10000 on the wire", "RSS before", "peak RSS")
    for name in columns:
        table.add_column(name, justify="left" if name == "coding" else "right")
    for row in rows:
        table.add_row(
            row.coding + (" [red]FAILED[/red]" if row.problems else ""),
            f"{row.page_bytes / 1024:,.0f} KiB",
            f"{row.rps:,.1f}",
            "–" if row.rps_ratio is None else f"{row.rps_ratio:.2f}",
            "–" if row.bytes_ratio is None else f"{row.bytes_ratio:.1f}",
            f"{row.stream_mb:,.2f} MB",
            f"{row.rss_before_mb:,.0f} MB",
            f"{row.peak_rss_mb:,.0f} MB",
        )
    console.print(table)
    for row in rows:
        if row.problems:
            console.print(f"[yellow]{row.coding}: {row.problems}[/yellow]", soft_wrap=True)
    for row in rows[1:]:
        met = (row.rps_ratio or 0) >= 0.8 and (row.bytes_ratio or 0) >= 5
        flat = row.peak_rss_mb <= plain.peak_rss_mb + args.flat_mb
        verdict = "[green]met[/green]" if met and flat else "[red]NOT met[/red]"
        console.print(
            f"{row.coding}: {row.rps_ratio or 0:.2f}× the uncompressed rate, "
            f"{row.bytes_ratio or 0:.1f}× fewer bytes, peak RSS {row.peak_rss_mb:,.0f} MB "
            f"(uncompressed {plain.peak_rss_mb:,.0f} MB): targets ≥ 0.8×, ≥ 5×, "
            f"within {args.flat_mb} MB: {verdict}"
        )
    packages = ("twinbridge", "uvicorn", "orjson", "brotli", "zstandard")
    settings = {"connections": args.connections, "duration": args.duration}
    settings |= {"rounds": args.rounds, "pages": args.pages}
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(features_postgis.ensure_trees(dsn, args.database, args.count))
    command = lambda port: server_command(port, args=args, tmp=tmp)  # noqa: E731
    base = common.launch("TwinBridge", tmp, procs, command, f"{ITEMS}?limit=1")
    url = f"{base}{ITEMS}?limit=1000"
    rows = [Row(coding) for coding in CODINGS]
    expected = None
    for row in rows:
        row.page_bytes, body, row.problems = page_size(url, row.coding, expected)
        expected = expected or body
    console.print("measuring requests/s …")
    throughput(rows, url, args)
    console.print(f"reading {args.pages} pages of limit=10000 per coding …")
    for row in rows:
        memory(row, f"{base}{ITEMS}?limit=10000", procs[-1], args.pages)
    report(rows, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=5, help="limit=10000 pages per coding")
    parser.add_argument("--flat-mb", type=int, default=32, help="peak RSS over uncompressed")
    parser.add_argument("--count", type=int, default=100_000, help="trees in the table")
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-compression-")


if __name__ == "__main__":
    main()
