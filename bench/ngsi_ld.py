"""Benchmark: TwinBridge's `ngsi-ld` connector in front of an NGSI-LD broker vs. the same
query sent straight to the broker (the peer), as requests/s and their ratio.

    .venv/bin/python bench/ngsi_ld.py [--duration 5] [--connections 4] [--entities 5000]

Starts the NGSI-LD test broker (gateway/demo/ngsibroker, `create_ld_app`, uvicorn, one
worker), loads `--entities` AirQualityObserved stations (as tests/connectors/test_ngsi_ld.py
builds them) into the tenant `aarhus`, starts `twinbridge serve --workers 1` with the
collection `bench/air` from the `ngsi-ld` connector (no mapping: the fields are the
connector's paths) and runs `wrk` against both for each request: 100 entities;
`NO2.value > 40` (pushed as `q=NO2>40`); a bbox (pushed as `georel=intersects`); an item by
id. Each TwinBridge answer is checked to hold the ids the broker gives for the same query.
The test broker is Python too, so the ratio says what the gateway's hop costs against a peer
of the same kind, not against Orion-LD (C++) or Stellio (JVM).
Written to bench/results/ngsi_ld.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common
import httpx
import yaml
from common import BIN, Process, console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.connectors.test_ngsi_ld import LINK, TYPE, station  # noqa: E402 - after the path

RESULTS = ROOT / "bench" / "results" / "ngsi_ld.json"
HEADERS = {**LINK, "NGSILD-Tenant": "aarhus"}
BBOX = (10.15, 56.12, 10.2, 56.16)


def load(broker: str, count: int) -> None:
    import random

    rng = random.Random(12)
    entities = [station(i, rng) for i in range(count)]
    url = f"{broker}/ngsi-ld/v1/entityOperations/upsert"
    with httpx.Client(timeout=120) as client:
        for start in range(0, count, 1000):
            answer = client.post(url, json=entities[start : start + 1000], headers=HEADERS)
            answer.raise_for_status()


def config(broker: str) -> dict[str, Any]:
    # page_size: the test broker's maximum, as Orion-LD's (with Stellio's 100, a page of 100
    # costs two requests: the gateway asks one more to know whether there is a next page)
    source = {
        "connector": "ngsi-ld",
        "url": broker,
        "type": TYPE,
        "tenant": "aarhus",
        "page_size": 1000,
    }
    return {
        "server": {"default_limit": 10, "max_limit": 10000},
        "tenants": {"bench": {"collections": {"air": {"source": source}}}},
    }


def requests_for(tb: str, broker: str) -> dict[str, tuple[str, str]]:
    """label -> (TwinBridge URL, the broker URL of the same query)."""
    items = f"{tb}/bench/collections/air/items"
    entities = f"{broker}/ngsi-ld/v1/entities?type={TYPE}"
    west, south, east, north = BBOX
    ring = [[[west, south], [east, south], [east, north], [west, north], [west, south]]]
    geo = f"georel=intersects&geometry=Polygon&coordinates={quote(json.dumps(ring))}"
    item = f"urn:ngsi-ld:{TYPE}:aarhus-042"
    return {
        "limit=100": (f"{items}?limit=100", f"{entities}&limit=100"),
        "q NO2>40, limit=100": (
            f"{items}?limit=100&filter={quote(chr(34) + 'NO2.value' + chr(34) + ' > 40')}",
            f"{entities}&limit=100&q={quote('NO2>40')}",
        ),
        "bbox, limit=100": (
            f"{items}?limit=100&bbox={','.join(map(str, BBOX))}",
            f"{entities}&limit=100&{geo}",
        ),
        "item by id": (
            f"{items}/{quote(item, safe='')}",
            f"{broker}/ngsi-ld/v1/entities/{quote(item, safe='')}",
        ),
    }


def check(ours: str, theirs: str) -> str:
    """'' when TwinBridge serves the ids the broker gives."""
    a = httpx.get(ours, timeout=60)
    b = httpx.get(theirs, timeout=60, headers=HEADERS)
    if a.status_code != 200 or b.status_code != 200:
        return f"HTTP {a.status_code} / {b.status_code}"
    doc, found = a.json(), b.json()
    ids = [f["id"] for f in doc["features"]] if "features" in doc else [doc["id"]]
    expected = [e["id"] for e in found] if isinstance(found, list) else [found["id"]]
    return "" if sorted(ids) == sorted(expected) else f"{len(ids)} ids vs {len(expected)}"


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    def broker_command(port: int) -> list[str]:
        app = "gateway.demo.ngsibroker.ld:create_ld_app"
        cmd = [str(BIN / "uvicorn"), app, "--factory", "--port", str(port), "--workers", "1"]
        return [*cmd, "--log-level", "warning", "--no-access-log"]

    broker = common.launch("broker", tmp, procs, broker_command, "/ngsi-ld/v1/types")
    load(broker, args.entities)
    path = tmp / "twinbridge.yaml"
    path.write_text(yaml.safe_dump(config(broker), sort_keys=False))

    def tb_command(port: int) -> list[str]:
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(path), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]

    tb = common.launch("TwinBridge", tmp, procs, tb_command, "/bench/collections/air/items?limit=1")
    table = Table(title=f"NGSI-LD: TwinBridge vs the broker, {args.connections} connections")
    for column in ("request", "TwinBridge req/s", "broker req/s", "ratio", "problems"):
        table.add_column(column)
    rows = []
    for label, (ours, theirs) in requests_for(tb, broker).items():
        problem = check(ours, theirs)
        common.wrk(ours, 1, args.connections)  # warm-up
        tb_rps, tb_problems = common.wrk(ours, args.duration, args.connections)
        broker_rps, broker_problems = common.wrk(
            theirs, args.duration, args.connections, headers=HEADERS
        )
        ratio = tb_rps / broker_rps if broker_rps else 0.0
        problems = "; ".join(p for p in (problem, tb_problems, broker_problems) if p)
        rows.append(
            {"request": label, "twinbridge_rps": tb_rps, "broker_rps": broker_rps, "ratio": ratio}
        )
        table.add_row(label, f"{tb_rps:.0f}", f"{broker_rps:.0f}", f"{ratio:.2f}", problems)
    console.print(table)
    settings = {
        "entities": args.entities,
        "duration": args.duration,
        "connections": args.connections,
    }
    common.save_results(RESULTS, settings, ("twinbridge", "uvicorn", "httpx"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--entities", type=int, default=5000)
    common.main_with_servers(parser.parse_args(), run, "tb-ngsild-")


if __name__ == "__main__":
    main()
