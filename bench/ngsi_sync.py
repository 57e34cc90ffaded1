"""Benchmark: NGSI-v2 -> SensorThings synchronisation.

    .venv/bin/python bench/ngsi_sync.py [--stations 1000] [--changed 100] [--notifications 200]

Serves the NGSI-v2 test broker (gateway/demo/ngsibroker) and a gateway with one tenant
syncing it (SQLite store) on loopback ports in this process, and measures:

1. first sync: `--stations` AirQualityObserved entities (5 numeric attributes each, the
   Rotterdam seed's shape) -> Things, Locations, Datastreams, Observations;
2. a steady poll where `--changed` stations got a new hour (until their Observations show);
3. notifications: `--notifications` POSTs of 10 changed stations each to the gateway's
   notification endpoint, sequentially (what a broker without throttling sends).

It prints the figures and writes them to `bench/results/ngsi_sync.json`. There is no peer:
no other NGSI -> SensorThings bridge runs here (FROST's is a separate Java service).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ngsi_sync.json"
sys.path.insert(0, str(ROOT))

from gateway.app import create_app  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.demo.ngsi_seed import ROTTERDAM, rotterdam_entities  # noqa: E402
from gateway.demo.ngsibroker import create_app as create_broker  # noqa: E402
from gateway.demo.ngsibroker.serve import serving  # noqa: E402

HEADERS = {"Fiware-Service": "rotterdam", "Fiware-ServicePath": "/airquality"}
START = datetime(2026, 3, 2, 12, tzinfo=UTC)
STA = "/t/sta/v1.1"


def stations(count: int, at: datetime, first: int = 0) -> list[dict[str, Any]]:
    """`count` stations shaped like Rotterdam's, numbered from `first`."""
    template = rotterdam_entities(at)
    out = []
    for n in range(first, first + count):
        entity = json.loads(json.dumps(template[n % len(ROTTERDAM)]))
        entity["id"] = f"Bench-AirQualityObserved-{n:05d}"
        entity["location"]["value"]["coordinates"][0] += (n // 10) * 0.001
        out.append(entity)
    return out


def load(broker: str, entities: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=broker, timeout=60) as client:
        for i in range(0, len(entities), 200):
            body = {"actionType": "append", "entities": entities[i : i + 200]}
            client.post("/v2/op/update", json=body, headers=HEADERS).raise_for_status()


def count(url: str, path: str) -> int:
    doc = httpx.get(f"{url}{path}", params={"$count": "true", "$top": "0"}, timeout=60).json()
    return int(doc["@iot.count"])


def wait_count(url: str, path: str, want: int, timeout: float = 600) -> float:
    started = time.perf_counter()
    while count(url, path) < want:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{path} did not reach {want}")
        time.sleep(0.02)
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    secret = uuid.uuid4().hex
    os.environ["TB_BENCH_SYNC_SECRET"] = secret
    out: dict[str, Any] = {"stations": args.stations}
    with tempfile.TemporaryDirectory() as tmp, serving(create_broker(v2=True)) as broker:
        load(broker, stations(args.stations, START))
        sync = {
            "kind": "ngsi-v2",
            "name": "air",
            "url": broker,
            "service": "rotterdam",
            "service_path": "/airquality",
            "types": ["AirQualityObserved"],
            "interval": 1,
            "page_size": 1000,
            "subscription": {
                "notify_url": "http://127.0.0.1:9/unused",
                "secret_env": "TB_BENCH_SYNC_SECRET",
            },
        }
        sta = {"store": {"path": str(Path(tmp) / "t.sqlite")}, "sync": [sync]}
        app = create_app(
            parse_config({"tenants": {"t": {"sensorthings": sta}}}, "bench", Path(tmp))
        )
        with serving(app) as url:
            streams = args.stations * 5
            out["first_sync_s"] = wait_count(url, f"{STA}/Observations", streams)
            out["first_sync_observations_per_s"] = streams / out["first_sync_s"]
            load(broker, stations(args.changed, START + timedelta(hours=1)))
            out["changed"] = args.changed
            out["poll_changed_s"] = wait_count(
                url, f"{STA}/Observations", streams + args.changed * 5
            )
            total = streams + args.changed * 5
            out["notifications"] = args.notifications
            out["notifications_per_s"] = asyncio.run(notify(url, secret, args.notifications))
            total += args.notifications * 10 * 5
            wait_count(url, f"{STA}/Observations", total)
            out["observations"] = count(url, f"{STA}/Observations")
    return out


async def notify(url: str, secret: str, rounds: int) -> float:
    target = f"{url}/t/sync/ngsi/air/notify"
    headers = {"X-TwinBridge-Secret": secret}
    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        for n in range(rounds):
            at = START + timedelta(hours=2 + n)
            body = {"subscriptionId": "bench", "data": stations(10, at, first=(n * 10) % 1000)}
            r = await client.post(target, json=body, headers=headers)
            r.raise_for_status()
        return rounds / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--notifications", type=int, default=200)
    args = parser.parse_args()
    figures = run(args)
    for key, value in figures.items():
        print(f"{key:32} {value:.3f}" if isinstance(value, float) else f"{key:32} {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
