"""NGSI seed entities for the water-level, noise and parking-occupancy profiles, the broker
side of each profile's two-city demo (the other city comes from a REST API in
gateway/demo/restapis):

- Rotterdam (NGSI-v2, service path `/waterlevel`): three `WaterObserved` river stations
  on the Maas with `height` in m (unitCode MTR, above NAP) and `flow` in m³/s (MQS); the
  water-level profile is in cm, so the sync converts (`convert: {height: m}`).

Values follow ngsi_seed.value (a function of station and hour only), so windows agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from gateway.demo.ngsi_seed import ROTTERDAM_SERVICE, _v2_station

ROTTERDAM_LEVEL_PATH = "/waterlevel"
# (station code, name, lon, lat): Rijkswaterstaat-style river stations.
ROTTERDAM_LEVEL = [
    ("ROTD", "Rotterdam - Maasbruggen", 4.4947, 51.9127),
    ("MAAS", "Maassluis", 4.2497, 51.9177),
    ("SPIJ", "Spijkenisse - Oude Maas", 4.3284, 51.8581),
]
# attribute -> (unitCode, base, daily amplitude, peak, noise, decimals, spread)
LEVEL = {
    "height": ("MTR", 0.95, 0.55, 0.0, 0.06, 2, 0.25),
    "flow": ("MQS", 1450.0, 80.0, 0.0, 40.0, 0, 0.4),
}


def rotterdam_level_entities(at: datetime) -> list[dict[str, Any]]:
    """Rotterdam's three water-level stations at one hour, NGSI-v2 normalized."""
    extra = {"source": {"type": "URL", "value": "https://waterinfo.rws.nl"}}
    return [_v2_station("WaterObserved", s, at, LEVEL, extra) for s in ROTTERDAM_LEVEL]


async def load_hour(
    v2: httpx.AsyncClient | None, ld: httpx.AsyncClient | None, at: datetime, ld_headers: dict
) -> tuple[int, int]:
    """Write one hour of these entities; the numbers of v2 and LD entities written."""
    v2_count = ld_count = 0
    if v2 is not None:
        headers = {"Fiware-Service": ROTTERDAM_SERVICE, "Fiware-ServicePath": ROTTERDAM_LEVEL_PATH}
        body = {"actionType": "append", "entities": rotterdam_level_entities(at)}
        r = await v2.post("/v2/op/update", json=body, headers=headers)
        r.raise_for_status()
        v2_count = len(body["entities"])
    return v2_count, ld_count
