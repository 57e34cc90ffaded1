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

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402

TWINBRIDGE = str(Path(sys.executable).with_name("twinbridge"))


def cpu_seconds(pid: int) -> float:
    """User and system time of a process and its waited-for children (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def serve(demo_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "TWINBRIDGE_DEMO_DIR": demo_dir}
    command = [TWINBRIDGE, "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the gateway did not start within 90 s")


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
    proc, url = serve(tempfile.mkdtemp(prefix="demo-data-bench-"))
    try:
        rows = [once(url, proc.pid, args.concurrency) for _ in range(args.runs)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"load average {os.getloadavg()[0]:.1f}; summary {rows[-1][3]}")
    print("| run | wall s | gateway CPU s | suite CPU s |\n|---|---|---|---|")
    for i, (wall, server, client, _) in enumerate(rows, 1):
        print(f"| {i} | {wall:.1f} | {server:.1f} | {client:.1f} |")
    walls = [r[0] for r in rows]
    print(f"median wall {statistics.median(walls):.1f} s (target: under 60 s)")


if __name__ == "__main__":
    main()
