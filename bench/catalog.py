"""Latency of `/catalog` answered from its cache, with 20 tenants × 10 profiles (the issue
asks < 100 ms).

Run: .venv/bin/python bench/catalog.py [--tenants 20] [--profiles 10] [--items 200]
     [--requests 200]

Writes `profiles` copies of street-trees (ids bench-0 … bench-9) to a temporary folder on
TWINBRIDGE_PROFILE_PATH and a configuration in which each of `tenants` tenants serves one
collection per profile from a GeoJSON file of `items` trees (a fifth of them broken in some
way, so the quality figures are not all trivial). It starts `twinbridge serve` on it, waits
until the background task has computed every dataset, then asks `/catalog` as JSON, HTML and
DCAT-AP JSON-LD `requests` times each, one request at a time, and prints the latencies
(median, p95, p99, max) beside `/health`'s, the floor of any answer on this stack.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, start, stop, tail  # noqa: E402
from tests.quality.fake_server import broken_trees  # noqa: E402

TARGET_MS = 100.0
PROPERTIES = [
    "species_scientific",
    "species_german",
    "genus",
    "planting_year",
    "height_m",
    "crown_diameter_m",
    "trunk_circumference_cm",
    "district",
    "street",
    "last_update",
]


def write_profiles(folder: Path, n: int) -> list[str]:
    source = ROOT / "profiles" / "street-trees"
    ids = []
    for i in range(n):
        pid = f"bench-{i}"
        target = folder / pid
        shutil.copytree(source, target)
        meta = yaml.safe_load((target / "profile.yaml").read_text())
        meta.update(id=pid, title=f"Bench profile {i}")
        (target / "profile.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True))
        ids.append(pid)
    return ids


def write_data(path: Path, items: int) -> None:
    features = [
        {**f, "id": f"f{i}", "properties": {**f["properties"], "ref": f["id"]}}
        for i, f in enumerate(broken_trees(items))
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def write_config(folder: Path, profile_ids: list[str], tenants: int, data: Path) -> Path:
    mapping = {"id": "ref", "properties": {p: p for p in PROPERTIES}}
    config: dict[str, Any] = {
        "server": {"catalog": {"first_delay_seconds": 0, "refresh_seconds": 3600}},
        "tenants": {
            f"city-{t}": {
                "title": f"City {t}",
                "collections": {
                    pid: {
                        "profile": pid,
                        "source": {"connector": "geojson", "path": str(data)},
                        "mapping": mapping,
                    }
                    for pid in profile_ids
                },
            }
            for t in range(tenants)
        },
    }
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_for_figures(url: str, expected: int, timeout: float = 600) -> float:
    """Seconds until every dataset has figures (the background task's first round)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            doc = httpx.get(f"{url}/catalog", timeout=30).json()
            done = [d for d in doc["datasets"] if d["status"] != "pending"]
            if len(doc["datasets"]) == expected and len(done) == expected:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit(f"the figures were not computed within {timeout:.0f} s")


def timed(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        sys.exit(f"{url}: {response.status_code}")
    return (time.perf_counter() - started) * 1000


def latencies(client: httpx.Client, url: str, n: int, headers: dict[str, str]) -> list[float]:
    """A first request that renders the document (under a Host not asked for before, so
    no answer is kept for it), then `n` that get the answer kept until the figures change."""
    first = timed(client, url, {**headers, "Host": f"render-{time.monotonic_ns()}.bench"})
    client.get(url, headers=headers)  # keeps the answer for the usual Host
    return [first, *(timed(client, url, headers) for _ in range(n))]


def row(name: str, measured: list[float], size: int) -> str:
    first, ms = measured[0], sorted(measured[1:])
    p95, p99 = ms[int(len(ms) * 0.95) - 1], ms[int(len(ms) * 0.99) - 1]
    verdict = "ok" if p95 < TARGET_MS else "ABOVE TARGET"
    return (
        f"{name:<22} {first:8.1f} {statistics.median(ms):8.1f} {p95:8.1f} {p99:8.1f} {ms[-1]:8.1f}"
        f" {size / 1024:9.0f}  {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--profiles", type=int, default=10)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twinbridge-bench-catalog-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "profiles").mkdir()
        profile_ids = write_profiles(tmp / "profiles", args.profiles)
        write_data(tmp / "trees.geojson", args.items)
        config = write_config(tmp, profile_ids, args.tenants, tmp / "trees.geojson")
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TWINBRIDGE_PROFILE_PATH": str(tmp / "profiles"),
        }
        log = tmp / "server.log"
        command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
        proc = start([*command, "--port", str(port), "--log-level", "warning"], log, env)
        url = f"http://127.0.0.1:{port}"
        try:
            datasets = args.tenants * args.profiles
            seconds = wait_for_figures(url, datasets)
            print(
                f"{args.tenants} tenants × {args.profiles} profiles = {datasets} datasets "
                f"of {args.items} items; first round of figures took {seconds:.1f} s"
            )
            head = ("first", "median", "p95", "p99", "max")
            print(f"{'request':<22} " + " ".join(f"{h:>8}" for h in head) + f" {'KiB':>9}")
            with httpx.Client(timeout=30) as client:
                cases = [
                    ("/health", "/health", {}),
                    ("/catalog (JSON)", "/catalog", {}),
                    ("/catalog?f=html", "/catalog?f=html", {}),
                    ("/catalog (JSON-LD)", "/catalog", {"Accept": "application/ld+json"}),
                ]
                for name, path, headers in cases:
                    ms = latencies(client, url + path, args.requests, headers)
                    size = len(client.get(url + path, headers=headers).content)
                    print(row(name, ms, size))
            print(
                f"target: p95 < {TARGET_MS:.0f} ms from cache (ms, one request at a time; "
                "'first' renders the document, the others send the rendered answer)"
            )
        except BaseException:
            print(tail(log))
            raise
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
