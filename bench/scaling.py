"""The scaling mode of features_postgis.py (`--workers 1,2`): TwinBridge and the bare endpoint
measured with the smaller, then the larger number of worker processes, and each server's
ratio between the two. A second worker's gain depends on the machine (cores, what else runs
there: wrk, PostgreSQL, other work), so TwinBridge's ratio is judged against bare's from the
same run: `TB/bare` near 1 means TwinBridge turns as much of the machine into throughput as
the bare endpoint does.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
from common import Process, console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results" / "features_postgis_scaling.json"
SERVERS = ("TwinBridge", "bare")


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def run(
    args: argparse.Namespace,
    tmp: Path,
    procs: list[Process],
    measured: Callable[[list[Process]], list[Any]],
) -> None:
    """`measured(procs)` starts the servers with `args.worker_count` workers and returns
    its rows (request, rps, problems); the servers are stopped before the next count."""
    by_workers: dict[int, dict[str, Any]] = {}
    loads = {}
    for workers in args.workers:
        args.worker_count = workers
        before = load_average()
        console.print(f"{workers} worker(s) each, load average {before}")
        rows = measured(procs)
        loads[workers] = (before, load_average())
        for proc in procs:
            common.stop(proc)
        procs.clear()
        by_workers[workers] = {row.request: row for row in rows}
    report(args, by_workers, loads)


def _rps(row: Any, server: str) -> float | None:
    """Requests/s, None when not measured or answered with errors."""
    if row is None or server not in row.rps or "non-2xx" in row.problems.get(server, ""):
        return None
    return float(row.rps[server])


def _cell(value: float | None, suffix: str = "", digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def report(
    args: argparse.Namespace,
    by_workers: dict[int, dict[str, Any]],
    loads: dict[int, tuple[str, str]],
) -> None:
    one, two = args.workers
    load_text = "; ".join(f"{w}w load {b} → {a}" for w, (b, a) in loads.items())
    table = Table(
        title=f"Scaling, {one} → {two} workers: wrk -t1 -c{args.connections} -d{args.duration}s,"
        f" median of {args.rounds} (requests/s); {load_text}"
    )
    for name in ("request", f"TB {one}w", f"TB {two}w", "TB ratio"):
        table.add_column(name, justify="left" if name == "request" else "right")
    for name in (f"bare {one}w", f"bare {two}w", "bare ratio", "TB ratio / bare ratio"):
        table.add_column(name, justify="right")
    rows = []
    for request, first in by_workers[one].items():
        second = by_workers[two].get(request)
        figures: dict[str, Any] = {"request": request}
        cells = [request]
        ratios = {}
        for server in SERVERS:
            a, b = _rps(first, server), _rps(second, server)
            ratios[server] = b / a if a and b else None
            figures[server] = {f"{one}w": a, f"{two}w": b, "ratio": ratios[server]}
            cells += [_cell(a), _cell(b), _cell(ratios[server], "×", 2)]
        tb, bare = ratios["TwinBridge"], ratios["bare"]
        figures["tb_ratio_over_bare_ratio"] = tb / bare if tb and bare else None
        cells.append(_cell(figures["tb_ratio_over_bare_ratio"], "", 2))
        table.add_row(*cells)
        rows.append(figures)
    console.print(table)
    settings = {"workers": list(args.workers), "duration_s": args.duration}
    settings |= {"connections": args.connections, "rounds": args.rounds}
    settings |= {"load_average": {str(w): list(v) for w, v in loads.items()}}
    packages = ("twinbridge", "asyncpg", "uvicorn", "fastapi")
    common.save_results(RESULTS, settings, packages, rows)
