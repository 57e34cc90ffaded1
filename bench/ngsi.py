"""Benchmark: TwinBridge's `ngsi-v2` connector in front of an NGSI-v2 broker vs. the same
query sent straight to the broker (the peer), as requests/s and their ratio.

    .venv/bin/python bench/ngsi.py [--duration 5] [--connections 4] [--entities 5000]

Starts the NGSI-v2 test broker (gateway/demo/ngsibroker, uvicorn, one worker), loads
`--entities` AirQualityObserved stations (as the tests' fixture builds them), starts
`twinbridge serve --workers 1` with the collection `bench/air` from the `ngsi-v2` connector
(no mapping: the fields are the connector's paths) and runs `wrk` against both for each
request: 100 entities; `NO2.value > 40` (pushed as `q=NO2>40`); a bbox (pushed as a
geo-query, lat,lon); an item by id. Each TwinBridge answer is checked to hold the ids the
broker gives for the same query. The test broker is Python too, so the ratio says what the
gateway's hop costs against a peer of the same kind, not against Orion (C++).
Written to bench/results/ngsi.json.
"""

from __future__ import annotations

import argparse
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
from tests.ngsi_fixtures import ENTITY_TYPE, station  # noqa: E402 - after the path

RESULTS = ROOT / "bench" / "results" / "ngsi.json"
SERVICE = {"Fiware-Service": "rotterdam"}
BBOX = (4.42, 51.89, 4.48, 51.93)


def load(broker: str, count: int) -> None:
    import random

    rng = random.Random(12)
    entities = [station(i, rng) for i in range(count)]
    with httpx.Client(base_url=broker, timeout=120) as client:
        for start in range(0, count, 1000):
            batch = {"actionType": "append", "entities": entities[start : start + 1000]}
            client.post("/v2/op/update", json=batch, headers=SERVICE).raise_for_status()


def config(broker: str) -> dict[str, Any]:
    source = {"connector": "ngsi-v2", "url": broker, "entity_type": ENTITY_TYPE}
    collection = {"source": {**source, "service": "rotterdam"}}
    return {
        "server": {"default_limit": 10, "max_limit": 10000},
        "tenants": {"bench": {"collections": {"air": collection}}},
    }


def requests_for(tb: str, broker: str) -> dict[str, tuple[str, str]]:
    """label -> (TwinBridge URL, the broker URL of the same query)."""
    items = f"{tb}/bench/collections/air/items"
    entities = f"{broker}/v2/entities?type={ENTITY_TYPE}"
    south_west, north_east = f"{BBOX[1]},{BBOX[0]}", f"{BBOX[3]},{BBOX[2]}"
    geo = f"georel=intersects&geometry=box&coords={quote(f'{south_west};{north_east}')}"
    item = "urn:ngsi:AirQualityObserved:RTM-0042"
    return {
        "limit=100": (f"{items}?limit=100", f"{entities}&limit=100&orderBy=id"),
        "q NO2>40, limit=100": (
            f"{items}?limit=100&filter={quote('NO2.value > 40')}",
            f"{entities}&limit=100&orderBy=id&q={quote('NO2==-1e308..1e308;NO2>40')}",
        ),
        "bbox, limit=100": (
            f"{items}?limit=100&bbox={','.join(map(str, BBOX))}",
            f"{entities}&limit=100&orderBy=id&{geo}",
        ),
        "item by id": (f"{items}/{quote(item, safe='')}", f"{broker}/v2/entities/{item}"),
    }


def check(ours: str, theirs: str) -> str:
    """'' when TwinBridge serves the ids the broker gives."""
    a = httpx.get(ours, timeout=60)
    b = httpx.get(theirs, timeout=60, headers=SERVICE)
    if a.status_code != 200 or b.status_code != 200:
        return f"HTTP {a.status_code} / {b.status_code}"
    doc, found = a.json(), b.json()
    ids = [f["id"] for f in doc["features"]] if "features" in doc else [doc["id"]]
    expected = [e["id"] for e in found] if isinstance(found, list) else [found["id"]]
    return "" if sorted(ids) == sorted(expected) else f"{len(ids)} ids vs {len(expected)}"


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    def broker_command(port: int) -> list[str]:
        app = "gateway.demo.ngsibroker:create_app"
        cmd = [str(BIN / "uvicorn"), app, "--factory", "--port", str(port), "--workers", "1"]
        return [*cmd, "--log-level", "warning", "--no-access-log"]

    broker = common.launch("broker", tmp, procs, broker_command, "/version")
    load(broker, args.entities)
    path = tmp / "twinbridge.yaml"
    path.write_text(yaml.safe_dump(config(broker), sort_keys=False))

    def tb_command(port: int) -> list[str]:
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(path), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]

    tb = common.launch("TwinBridge", tmp, procs, tb_command, "/bench/collections/air/items?limit=1")
    table = Table(title=f"NGSI-v2: TwinBridge vs the broker, {args.connections} connections")
    for column in ("request", "TwinBridge req/s", "broker req/s", "ratio", "problems"):
        table.add_column(column)
    rows = []
    for label, (ours, theirs) in requests_for(tb, broker).items():
        problem = check(ours, theirs)
        common.wrk(ours, 1, args.connections)  # warm-up
        tb_rps, tb_problems = common.wrk(ours, args.duration, args.connections)
        broker_rps, broker_problems = common.wrk(
            theirs, args.duration, args.connections, headers=SERVICE
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
    common.main_with_servers(parser.parse_args(), run, "tb-ngsi-")


if __name__ == "__main__":
    main()
