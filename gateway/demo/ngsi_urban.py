"""NGSI seed entities for the water-level, noise and parking-occupancy profiles, the broker
side of each profile's two-city demo (the other city comes from a REST API in
gateway/demo/restapis):

- Rotterdam (NGSI-v2, service path `/waterlevel`): three `WaterObserved` river stations
  on the Maas with `height` in m (unitCode MTR, above NAP) and `flow` in m³/s (MQS); the
  water-level profile is in cm, so the sync converts (`convert: {height: m}`);
- Aarhus (NGSI-LD): three `NoiseLevelObserved` monitors with LAeq, LAmax and LAS (dB,
  unitCode 2N), and three `OffStreetParking` car parks with availableSpotNumber and
  totalSpotNumber (no unitCode) and occupancy as a ratio 0..1 (C62) where the
  parking-occupancy profile says %, so the sync converts (`convert: {occupancy: "1"}`).

Values follow ngsi_seed.value (a function of station and hour only), so windows agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from gateway.demo.ngsi_seed import ROTTERDAM_SERVICE, _ld_station, _v2_station, stamp, value

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


AARHUS_NOISE = [
    ("AAR-N-ABOUL", "Aarhus-Noise-Aaboulevarden", 10.2087, 56.1572),
    ("AAR-N-RANDV", "Aarhus-Noise-Randersvej", 10.1998, 56.1766),
    ("AAR-N-HAVNE", "Aarhus-Noise-Havnegade", 10.2171, 56.1534),
]
NOISE = {
    "LAeq": ("2N", 62.0, 4.0, 5.0, 1.5, 1, 0.08),
    "LAmax": ("2N", 79.0, 4.0, 6.0, 3.0, 1, 0.06),
    "LAS": ("2N", 60.0, 4.0, 5.0, 3.0, 1, 0.1),
}
# (code, name, lon, lat, total spaces)
AARHUS_PARKING = [
    ("AAR-P-BRUUNS", "Bruuns Galleri P-hus", 10.2045, 56.1487, 700),
    ("AAR-P-SALLING", "Salling P-hus", 10.2100, 56.1560, 400),
    ("AAR-P-DOKK1", "Dokk1 P-anlaeg", 10.2153, 56.1537, 1000),
]


def aarhus_noise_entities(at: datetime) -> list[dict[str, Any]]:
    """Aarhus' three noise monitors at one hour, NGSI-LD normalized."""
    return [_ld_station("NoiseLevelObserved", *s, at, NOISE) for s in AARHUS_NOISE]


def occupancy(code: str, at: datetime) -> float:
    """A car park's occupancy ratio at one hour: busy by day, a shopping peak at noon."""
    spec = (None, 0.55, 0.3, 0.15, 0.05, 3, 0.2)
    return min(max(value(code, "occupancy", spec, at), 0.02), 0.99)


def aarhus_parking_entities(at: datetime) -> list[dict[str, Any]]:
    """Aarhus' three car parks at one hour, NGSI-LD normalized (occupancy a ratio)."""
    out = []
    for code, name, lon, lat, total in AARHUS_PARKING:
        ratio = occupancy(code, at)
        entity = _ld_station("OffStreetParking", code, name, lon, lat, at, {})
        observed = {"type": "Property", "observedAt": stamp(at)}
        entity["totalSpotNumber"] = {**observed, "value": total}
        entity["availableSpotNumber"] = {**observed, "value": round(total * (1 - ratio))}
        entity["occupancy"] = {**observed, "value": ratio, "unitCode": "C62"}
        out.append(entity)
    return out


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
    if ld is not None:
        entities = aarhus_noise_entities(at) + aarhus_parking_entities(at)
        r = await ld.post("/ngsi-ld/v1/entityOperations/upsert", json=entities, headers=ld_headers)
        r.raise_for_status()
        ld_count = len(entities)
    return v2_count, ld_count
