"""The `rest` connector over the demo's REST APIs on loopback (gateway/demo/restapis): how fast
a walk through a paged API is, and what pushing a filter down as API parameters saves
against evaluating it in the gateway.

    .venv/bin/python bench/rest_connector.py

Prints medians; the APIs run in this process (uvicorn threads), so the figures are ratios
on one machine, not absolute throughput.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.base import SourceQuery  # noqa: E402
from connectors.rest import RestConnector  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.demo.restapis import aot, barriers  # noqa: E402

MAPPING = {
    "id": "id",
    "properties": {
        "category": "category",
        "status": "status",
        "wheelchair": "wheelchair",
        "severity": "severity",
        "reported_at": {"from": "reported_at", "type": "datetime"},
        "description": "description",
        "district": "district",
        "street": {"template": "{location.address.street} {location.address.house_number}"},
        "postcode": "location.address.postcode",
        "photo_url": "photos[0].url",
        "votes": "votes",
    },
}
PUSHDOWN = {
    "district": {"param": "district", "op": "in"},
    "severity": [{"param": "severity_min", "op": "gte"}, {"param": "severity_max", "op": "lte"}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


async def walk(url: str) -> None:
    config = RestConnector.Config.model_validate(
        {
            "url": f"{url}/api/v1/observations",
            "items": "data",
            "total": "meta.total",
            "paging": {"style": "page"},
            "page_size": 200,
            "geometry": {"geojson": "location"},
        }
    )
    c = RestConnector(config, base_dir=Path("."), name="bench/aot")
    await c.open()
    times, count = [], 0
    for _ in range(7):
        start = time.perf_counter()
        result = await c.query(SourceQuery())
        count = len([r async for r in result.records])
        times.append(time.perf_counter() - start)
    await c.close()
    median = statistics.median(times)
    rate = count / median
    print(f"walk: {count} observations, pages of 200: {median * 1000:.0f} ms, {rate:.0f}/s")


def gateway(url: str) -> None:
    def source(**extra: Any) -> dict[str, Any]:
        return {
            "connector": "rest",
            "url": f"{url}/reports",
            "items": "reports",
            "total": "total",
            "geometry": {"lon": "location.lon", "lat": "location.lat"},
            "page_size": 100,
            **extra,
        }

    tenants = {
        name: {
            "collections": {
                "b": {"profile": "accessibility-barriers", "source": src, "mapping": MAPPING}
            }
        }
        for name, src in (("pushed", source(pushdown=PUSHDOWN)), ("residual", source()))
    }
    loaded = parse_config({"server": {"max_limit": 10000}, "tenants": tenants}, "b.yaml", Path("."))
    text = "district = 'Altona' AND severity >= 2"
    with TestClient(create_app(loaded)) as client:
        medians = {}
        for tenant in ("pushed", "residual"):
            times = []
            for i in range(40):
                params = {"limit": 10, "offset": i % 3, "filter": text}
                start = time.perf_counter()
                answer = client.get(f"/{tenant}/collections/b/items", params=params)
                times.append(time.perf_counter() - start)
                assert answer.status_code == 200, answer.text
            medians[tenant] = statistics.median(times)
            print(f"items {tenant:8s} filter={text!r} limit=10: {medians[tenant] * 1000:.1f} ms")
        print(f"pushed down: {medians['residual'] / medians['pushed']:.1f}x faster")


def main() -> None:
    ports = (free_port(), free_port())
    servers = [serve(aot.create_app(), ports[0]), serve(barriers.create_app(), ports[1])]
    try:
        asyncio.run(walk(f"http://127.0.0.1:{ports[0]}"))
        gateway(f"http://127.0.0.1:{ports[1]}")
    finally:
        for s in servers:
            s.should_exit = True


if __name__ == "__main__":
    main()
