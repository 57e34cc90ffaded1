"""Benchmark: the worker's own CPU per request for `features_postgis.py`'s rows, TwinBridge
and the bare endpoint, both driven in process through the ASGI interface.

    PYTHONPATH=. .venv/bin/python bench/cpu_postgis.py [--requests 1200] [--rounds 3]
                                                      [--concurrency 8] [--profile ROW]

Wall-clock requests/s on a shared machine move with the neighbours' load; the CPU time this
process spends per request (`time.process_time`: the app, asyncpg's protocol, orjson; not
PostgreSQL, which runs in its own processes) barely does. Each app is built as its server
runs it: TwinBridge through `gateway.server.app_factory` with `features_postgis.py`'s
configuration (no response cache: every request runs the query), heap frozen after start-up;
the bare endpoint is `bare_reference.py`. `--concurrency` requests are in flight at a time
(like wrk's connections); per round the CPU time of `--requests` requests is divided by
their number, and the minimum of the rounds is kept. TwinBridge and bare take turns round by
round. `--profile ROW` runs TwinBridge's row under cProfile instead and prints the top
functions by own time (cProfile slows Python code by 2-3×: read shares, not figures).
`--without Compression,RequestLog` builds TwinBridge without those middleware layers (class
names; `all` for every one): what each costs, measured rather than guessed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import features_postgis as fp  # noqa: E402

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
CQL = quote(f"planting_year > {fp.FILTER_YEAR} AND district = '{fp.FILTER_DISTRICT}'")
BBOX = ",".join(str(v) for v in fp.BBOX)
ROWS = {  # row -> (TwinBridge's path?query, bare's)
    "limit=100": ("?limit=100", "?limit=100"),
    "bbox": (f"?limit=100&bbox={BBOX}", f"?limit=100&bbox={BBOX}"),
    "offset=90000": ("?limit=100&offset=90000", "?limit=100&offset=90000"),
    "CQL2": (
        f"?limit=100&filter-lang=cql2-text&filter={CQL}",
        f"?limit=100&planting_year_gt={fp.FILTER_YEAR}&district={fp.FILTER_DISTRICT}",
    ),
    "item": (f"/{fp.ITEM_ID}", f"/{fp.ITEM_ID}"),
}


def scope_for(target: str) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"application/geo+json"),
            (b"user-agent", b"wrk"),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: App, target: str) -> tuple[int, int]:
    """One request: its status and body length."""
    status, size = 0, 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            size += len(message.get("body", b""))

    await app(scope_for(target), receive, send)
    return status, size


async def drive(app: App, target: str, n: int, concurrency: int) -> float:
    """CPU microseconds per request over `n` requests, `concurrency` in flight."""
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            status, _ = await call(app, target)
            assert status == 200, (target, status)

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - started) / n * 1e6


def twinbridge_app(tmp: Path, args: argparse.Namespace) -> Any:
    if args.without:
        _skip_middleware(set(args.without.split(",")))
    config = tmp / "twinbridge.yaml"
    config.write_text(yaml.safe_dump(fp.twinbridge_config(args), sort_keys=False))
    os.environ["TWINBRIDGE_CONFIG"] = str(config)
    from gateway.server import app_factory

    return app_factory()


def _skip_middleware(names: set[str]) -> None:
    """Starlette.add_middleware ignores the named classes from now on (this process only)."""
    from starlette.applications import Starlette

    add = Starlette.add_middleware

    def selective(app: Starlette, cls: Any, *args: Any, **kwargs: Any) -> None:
        if "all" not in names and cls.__name__ not in names:
            add(app, cls, *args, **kwargs)

    Starlette.add_middleware = selective  # type: ignore[method-assign]


def bare_app(args: argparse.Namespace) -> Any:
    os.environ["BARE_DSN"] = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    import bare_reference

    return bare_reference.app


async def measure(args: argparse.Namespace, tb: Any, bare: Any) -> dict[str, dict[str, float]]:
    apps = {"TwinBridge": (tb, fp.ITEMS["TwinBridge"], 0), "bare": (bare, fp.ITEMS["bare"], 1)}
    apps = {name: apps[name] for name in args.servers}
    results: dict[str, dict[str, float]] = {}
    # TwinBridge's start-up sets the collector's thresholds for its process (gateway/heap.py);
    # the bare endpoint runs in a process of its own with CPython's defaults.
    thresholds = {"bare": gc.get_threshold()}
    async with tb.router.lifespan_context(tb), bare.router.lifespan_context(bare):
        thresholds["TwinBridge"] = gc.get_threshold()
        for row in args.rows:
            runs: dict[str, list[float]] = {name: [] for name in apps}
            for name, (app, base, i) in apps.items():
                gc.set_threshold(*thresholds[name])
                await drive(app, base + ROWS[row][i], 200, args.concurrency)  # warm
            if args.profile:
                app, base, _ = apps["TwinBridge"]
                gc.set_threshold(*thresholds["TwinBridge"])
                await profile(app, base + ROWS[row][0], args)
                continue
            if args.callgrind:
                for name, (app, base, i) in apps.items():
                    gc.set_threshold(*thresholds[name])
                    runs[name].append(await instructions(app, base + ROWS[row][i], args))
            for round_ in range(0 if args.callgrind else args.rounds):
                order = list(apps) if round_ % 2 == 0 else list(apps)[::-1]
                for name in order:
                    app, base, i = apps[name]
                    target = base + ROWS[row][i]
                    gc.set_threshold(*thresholds[name])
                    runs[name].append(await drive(app, target, args.requests, args.concurrency))
            results[row] = {name: min(values) for name, values in runs.items()}
            unit = "k instr." if args.callgrind else "µs"
            figures = (f"{n} {v:7.0f} {unit}" for n, v in results[row].items())
            print(f"{row:>14}: " + "   ".join(figures))
            if len(results[row]) == 2:
                tb, bare_ = results[row]["TwinBridge"], results[row]["bare"]
                print(f"{'':>14}  TB/bare {tb / bare_:.2f} (bare/TB {bare_ / tb:.2f}×)")
    return results


async def instructions(app: App, target: str, args: argparse.Namespace) -> float:
    """Thousands of instructions per request (Ir, valgrind's callgrind): what the CPU has to
    do, whatever else runs on the machine. Only the requests are instrumented."""
    pid = str(os.getpid())

    def control(*options: str) -> None:
        subprocess.run(["callgrind_control", *options, pid], check=True, capture_output=True)

    control("-z")
    control("-i", "on")
    await drive(app, target, args.requests, args.concurrency)
    control("-i", "off")
    control("-d", "requests")
    dumps = Path().glob(f"callgrind.out.{pid}.*")
    latest = max(dumps, key=lambda p: int(p.suffix[1:]))
    totals = next(ln for ln in latest.read_text().splitlines() if ln.startswith("totals:"))
    return int(totals.split()[1]) / args.requests / 1000


async def profile(app: Any, target: str, args: argparse.Namespace) -> None:
    """cProfile traces the whole thread while enabled: the loop's callbacks too."""
    profiler = cProfile.Profile()
    profiler.enable()
    await drive(app, target, args.requests, args.concurrency)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs().sort_stats(args.sort)
    stats.print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"any of {', '.join(ROWS)}")
    parser.add_argument("--servers", default="TwinBridge,bare", help="either or both")
    parser.add_argument("--profile", action="store_true", help="cProfile TwinBridge instead")
    parser.add_argument(
        "--callgrind", action="store_true", help="under valgrind --tool=callgrind: k instructions"
    )
    parser.add_argument("--without", default="", help="middleware classes to leave out, or all")
    parser.add_argument("--sort", default="tottime", help="pstats sort key for --profile")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args()
    args.rows = [r for r in args.rows.split(",") if r]
    args.servers = [s for s in ("TwinBridge", "bare") if s in args.servers.split(",")]
    with tempfile.TemporaryDirectory(prefix="twinbridge-bench-cpu-") as tmp:
        tb, bare = twinbridge_app(Path(tmp), args), bare_app(args)
        print(f"load average {os.getloadavg()[0]:.2f}")
        asyncio.run(measure(args, tb, bare))
        print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
