"""Time of `twinbridge conformance URL` (the Features suite) against the demo served by
`twinbridge serve`, with the CPU each side spent, so a slower run can be told apart as the
suite's work, the gateway's, or waiting. The target from the conformance issue: a run within
a minute on this 2-core machine; the suite's tests check what it finds, this measures how
long it takes (a timed test fails on a loaded CI machine for reasons of its own).

Run: .venv/bin/python bench/conformance_run.py [--runs 3] [--concurrency 6]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import launch, stop  # noqa: E402

TWINBRIDGE = str(Path(sys.executable).with_name("twinbridge"))


def cpu_seconds(pid: int) -> float:
    """User and system time of a process and its waited-for children (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def once(url: str, server_pid: int, concurrency: int) -> tuple[float, float, float, dict]:
    report = Path(tempfile.mkdtemp()) / "report.json"
    command = [TWINBRIDGE, "conformance", f"{url}/", "--quiet", "--json", str(report)]
    command += ["--concurrency", str(concurrency)]
    before_server = cpu_seconds(server_pid)
    before_client = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after_client = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after_client.ru_utime - before_client.ru_utime) + (
        after_client.ru_stime - before_client.ru_stime
    )
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    return wall, cpu_seconds(server_pid) - before_server, client, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="demo-data-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "TWINBRIDGE_DEMO_DIR": str(tmp)}
    serve = [TWINBRIDGE, "serve", "--log-level", "warning", "--port"]
    try:
        url = launch("gateway", tmp, procs, lambda port: [*serve, str(port)], "/health", env)
        rows = [once(url, procs[0].pid, args.concurrency) for _ in range(args.runs)]
    finally:
        for proc in procs:
            stop(proc)
    print(f"load average {os.getloadavg()[0]:.1f}; summary {rows[-1][3]}")
    print("| run | wall s | gateway CPU s | suite CPU s |\n|---|---|---|---|")
    for i, (wall, server, client, _) in enumerate(rows, 1):
        print(f"| {i} | {wall:.1f} | {server:.1f} | {client:.1f} |")
    walls = [r[0] for r in rows]
    print(f"median wall {statistics.median(walls):.1f} s (target: under 60 s)")


if __name__ == "__main__":
    main()
