"""Load measurement shared by bench/load_postgis.py and the test suite's shortened load test:
wrk at many connections, answers counted by status, latency from the client's side, the
shed answers' time from the server's side (/metrics), and the server's memory before and
after.

wrk's Lua hooks count the statuses per thread; `done` prints them with the latency
percentiles as `key value` lines that `measure()` reads back.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      io.write(string.format("status %d %d\n", status, n))
    end
  end
  io.write(string.format("p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("max_ms %.2f\n", latency.max / 1000))
  io.write(string.format("requests %d\n", summary.requests))
  local e = summary.errors
  io.write(string.format("errors %d\n", e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Load:
    seconds: int
    connections: int
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    socket_errors: int = 0
    shed: int = 0  # 503 answers the server counted
    shed_within_50ms: int = 0
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def over(self, ms: float) -> bool:
        return self.max_ms > ms


def wrk(url: str, seconds: int, connections: int, threads: int = 2) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
    try:
        out = subprocess.run(
            [*cmd, "-s", script.name, url], check=True, capture_output=True, text=True
        ).stdout
    finally:
        Path(script.name).unlink()
    load = Load(seconds, connections)
    for key, *values in (line.split() for line in out.splitlines() if line.strip()):
        if key == "status":
            status, n = int(values[0]), int(values[1])
            load.statuses[status] = load.statuses.get(status, 0) + n
        elif key in ("p50_ms", "p99_ms", "max_ms"):
            setattr(load, key, float(values[0]))
        elif key == "requests":
            load.requests = int(values[0])
        elif key == "errors":
            load.socket_errors = int(values[0])
    return load


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else 0.0


def shed_counts(base: str, route: str) -> tuple[int, int]:
    """(503 answers on `route`, those the server finished within 50 ms), from /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    labels = f'route="{route}",status="503"'
    total = re.search(rf"twinbridge_request_duration_seconds_count\{{{labels}\}} ([\d.e+]+)", text)
    fast = re.search(
        rf'twinbridge_request_duration_seconds_bucket\{{le="0.05",{labels}\}} ([\d.e+]+)', text
    ) or re.search(
        rf'twinbridge_request_duration_seconds_bucket\{{{labels},le="0.05"\}} ([\d.e+]+)', text
    )
    return (
        int(float(total.group(1))) if total else 0,
        int(float(fast.group(1))) if fast else 0,
    )


def measure(base: str, path: str, route: str, pid: int, seconds: int, connections: int) -> Load:
    """Warm up, then load `base + path` and collect the figures."""
    wrk(f"{base}{path}", 1, min(connections, 8))
    before_total, before_fast = shed_counts(base, route)
    rss_before = rss_mb(pid)
    load = wrk(f"{base}{path}", seconds, connections)
    load.rss_before_mb, load.rss_after_mb = rss_before, rss_mb(pid)
    total, fast = shed_counts(base, route)
    load.shed, load.shed_within_50ms = total - before_total, fast - before_fast
    return load
