"""Deterministic NGSI seed data for the demo: two cities' sensors as their brokers hold them.

- Rotterdam (NGSI-v2, `Fiware-Service: rotterdam`): in service path `/airquality` ten
  `AirQualityObserved` stations with no2, pm10, pm25, o3 (µg/m³, unitCode GQ) and
  temperature (°C, CEL); in `/waterquality` four `WaterQualityObserved` probes on the Maas
  branches with temperature, pH, conductivity (µS/cm), O2 and NO3 (mg/l) as
  `metadata.unitCode`, and turbidity without one (UN/CEFACT has no turbidity unit); in
  `/traffic` six detector lanes as `TrafficFlowObserved` (traffic.py); hourly;
- Aarhus (NGSI-LD, Smart Data Models @context): five `AirQualityObserved` stations and three
  `WaterQualityObserved` stations (temperature, pH, conductivity in µS/cm, dissolved O2
  in mg/l), hourly, each value with its `observedAt`; and the electricity meters of five
  buildings of a positive-energy district as `ACMeasurement` (energy.py: meter registers
  totalActiveEnergyImport/Export in kWh, unitCode KWH, and totalActivePower in kW, KWT);
- for the water-level, noise and parking-occupancy profiles, Rotterdam's `WaterObserved`
  stations (v2, `/waterlevel`) and Aarhus' `NoiseLevelObserved` monitors and
  `OffStreetParking` car parks (LD), written with each hour by gateway/demo/ngsi_urban.py.

A value is a function of the station and the hour only (a daily cycle, a rush-hour peak,
seeded noise), so any window of hours gives the same numbers for the same hours. `load_seed`
writes the hours in order through the brokers' own APIs (v2 batch append, LD batch
upsert): a broker keeps each entity's latest state, the LD broker's temporal API the
history, and a subscribed gateway is notified of every hour. Over HTTP give a client with
the broker's root as base URL; in-process use `load_into_apps(v2_app, ld_app)`.

For the demo, `start_demo_brokers()` does it all: both brokers, seeded, on loopback ports
in threads of their own; `examples/ngsi-sensorthings.yaml` is a configuration syncing them.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gateway.demo.energy import AARHUS_METERS, aarhus_meters
from gateway.demo.traffic import ROTTERDAM_SITES, ROTTERDAM_TRAFFIC_PATH, rotterdam_lanes

ROTTERDAM_SERVICE = "rotterdam"
ROTTERDAM_PATH = "/airquality"
ROTTERDAM_WATER_PATH = "/waterquality"
SDM_CONTEXT = "https://smartdatamodels.org/context.jsonld"
LINK = f'<{SDM_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'

# (station code, name, lon, lat); the codes follow the Dutch LML numbering style.
ROTTERDAM = [
    ("NL01485", "Rotterdam-Statenweg", 4.4615, 51.9343),
    ("NL01487", "Rotterdam-Schiedamsevest", 4.4726, 51.9149),
    ("NL01488", "Rotterdam-Pleinweg", 4.4880, 51.8913),
    ("NL01489", "Rotterdam-Zwartewaalstraat", 4.4961, 51.8887),
    ("NL01491", "Rotterdam-Vasteland", 4.4770, 51.9137),
    ("NL01493", "Rotterdam-Bentinckplein", 4.4549, 51.9295),
    ("NL01494", "Rotterdam-Kralingen", 4.5135, 51.9235),
    ("NL01495", "Rotterdam-Overschie-A13", 4.4317, 51.9444),
    ("NL01496", "Rotterdam-Hoogvliet", 4.3517, 51.8640),
    ("NL01497", "Rotterdam-Noordplein", 4.4781, 51.9286),
]
# (probe code, name, lon, lat): river probes on the Nieuwe Maas, Nieuwe Waterweg and Oude Maas.
ROTTERDAM_WATER = [
    ("NMA-BRIE", "Nieuwe Maas - Brienenoordbrug", 4.5393, 51.9085),
    ("NMA-WILL", "Nieuwe Maas - Willemsbrug", 4.4937, 51.9164),
    ("NWW-MSLS", "Nieuwe Waterweg - Maassluis", 4.2497, 51.9155),
    ("OMA-SPIJ", "Oude Maas - Spijkenisse", 4.3284, 51.8581),
]
AARHUS_AIR = [
    ("AAR-BANE", "Aarhus-Banegaardsgade", 10.2039, 56.1506),
    ("AAR-VIBY", "Aarhus-Viby", 10.1644, 56.1298),
    ("AAR-RISS", "Aarhus-Risskov", 10.2326, 56.1906),
    ("AAR-HASL", "Aarhus-Hasle", 10.1583, 56.1750),
    ("AAR-HAVN", "Aarhus-Havn", 10.2245, 56.1551),
]
AARHUS_WATER = [
    ("AAR-AA-01", "Aarhus-Aa-Mollestien", 10.2042, 56.1585),
    ("AAR-AA-02", "Aarhus-Aa-Aaboulevarden", 10.2105, 56.1566),
    ("AAR-BUGT", "Aarhus-Bugten-Bassin7", 10.2268, 56.1612),
]
# attribute -> (unitCode, base level, daily amplitude, rush-hour peak, noise, decimals[,
# spread of the stations' levels, default 0.15])
AIR = {
    "no2": ("GQ", 24.0, 6.0, 18.0, 5.0, 1),
    "pm10": ("GQ", 19.0, 3.0, 6.0, 4.0, 1),
    "pm25": ("GQ", 11.0, 2.0, 3.5, 2.5, 1),
    "o3": ("GQ", 48.0, -16.0, -6.0, 6.0, 1),
    "temperature": ("CEL", 7.5, 3.5, 0.0, 0.8, 1),
}
WATER = {
    "temperature": ("CEL", 6.5, 0.6, 0.0, 0.2, 2),
    "pH": ("Q30", 7.8, 0.1, 0.0, 0.05, 2),
    "conductivity": ("G42", 540.0, 12.0, 0.0, 8.0, 0),
    "O2": ("M1", 10.8, 0.9, 0.0, 0.3, 2),
}
# The Maas at Rotterdam: warmer, more mineral and more turbid than the Aarhus Aa; turbidity
# has no unitCode (a sync configures the unit), NO3 is mg/l as NO3.
RIVER = {
    "temperature": ("CEL", 8.5, 0.4, 0.0, 0.2, 2),
    "pH": ("Q30", 7.9, 0.08, 0.0, 0.04, 2, 0.03),  # a logarithm: stations differ little
    "conductivity": ("G42", 780.0, 25.0, 0.0, 15.0, 0),
    "O2": ("M1", 10.2, 0.8, 0.0, 0.3, 2),
    "turbidity": (None, 18.0, 3.0, 0.0, 4.0, 1),
    "NO3": ("M1", 11.5, 0.5, 0.0, 0.6, 2),
}


@dataclass(frozen=True)
class SeedCounts:
    hours: int
    v2_entities: int
    ld_entities: int


def _noise(*parts: object) -> float:
    """A value in [-1, 1] fixed by its parts (no random state: windows agree)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def value(station: str, attribute: str, spec: tuple, at: datetime) -> float:
    base, daily, peak, noise, decimals = spec[1:6]
    spread = spec[6] if len(spec) > 6 else 0.15  # how far stations' levels differ
    hour = at.hour + at.minute / 60
    cycle = math.sin((hour - 9) / 24 * 2 * math.pi)  # highest mid-afternoon
    rush = math.exp(-((hour - 8.5) ** 2) / 2) + 0.8 * math.exp(-((hour - 17.5) ** 2) / 2)
    level = base * (1 + spread * _noise(station, attribute))  # each station its own level
    raw = level + daily * cycle + peak * rush + noise * _noise(station, attribute, at.isoformat())
    return round(max(raw, 0.0), decimals) if attribute != "temperature" else round(raw, decimals)


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _v2_measurement(spec: tuple, number: float) -> dict[str, Any]:
    unit = {"unitCode": {"type": "Text", "value": spec[0]}} if spec[0] else {}
    return {"type": "Number", "value": number, "metadata": unit}


def _v2_station(
    kind: str,
    station: tuple[str, str, float, float],
    at: datetime,
    attrs: dict[str, tuple],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """One Rotterdam station of `kind` at one hour, NGSI-v2 normalized."""
    code, name, lon, lat = station
    entity: dict[str, Any] = {
        "id": f"Rotterdam-{kind}-{code}",
        "type": kind,
        "name": {"type": "Text", "value": name},
        "dateObserved": {"type": "DateTime", "value": stamp(at)},
        "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "address": {
            "type": "StructuredValue",
            "value": {"addressLocality": "Rotterdam", "addressCountry": "NL"},
        },
        **extra,
    }
    for attr, spec in attrs.items():
        entity[attr] = _v2_measurement(spec, value(code, attr, spec, at))
    return entity


def rotterdam_entities(at: datetime) -> list[dict[str, Any]]:
    """The ten Rotterdam stations at one hour, NGSI-v2 normalized."""
    extra = {
        "airQualityLevel": {"type": "Text", "value": "good"},
        "source": {"type": "URL", "value": "https://www.luchtmeetnet.nl"},
    }
    return [_v2_station("AirQualityObserved", s, at, AIR, extra) for s in ROTTERDAM]


def rotterdam_water_entities(at: datetime) -> list[dict[str, Any]]:
    """The four Rotterdam river probes at one hour, NGSI-v2 normalized."""
    extra = {"source": {"type": "URL", "value": "https://waterinfo.rws.nl"}}
    return [_v2_station("WaterQualityObserved", s, at, RIVER, extra) for s in ROTTERDAM_WATER]


def _ld_station(
    kind: str, code: str, name: str, lon: float, lat: float, at: datetime, attrs: dict[str, tuple]
) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:{kind}:{code}",
        "type": kind,
        "name": {"type": "Property", "value": name},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": stamp(at)}},
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{code}"},
    }
    for attr, spec in attrs.items():
        entity[attr] = {
            "type": "Property",
            "value": value(code, attr, spec, at),
            "unitCode": spec[0],
            "observedAt": stamp(at),
        }
    return entity


def aarhus_entities(at: datetime) -> list[dict[str, Any]]:
    """Aarhus' air and water stations at one hour, NGSI-LD normalized."""
    air = [_ld_station("AirQualityObserved", *s, at, AIR) for s in AARHUS_AIR]
    water = [_ld_station("WaterQualityObserved", *s, at, WATER) for s in AARHUS_WATER]
    return air + water


def aarhus_energy_entities(at: datetime) -> list[dict[str, Any]]:
    """Aarhus' building meters at one hour, NGSI-LD normalized (ACMeasurement)."""
    return aarhus_meters(at, stamp)


def hours(end: datetime, count: int) -> list[datetime]:
    """`count` whole hours up to `end` (floored to the hour), oldest first."""
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [last - timedelta(hours=count - 1 - i) for i in range(count)]


async def load_seed(
    v2: httpx.AsyncClient | None,
    ld: httpx.AsyncClient | None,
    *,
    hours_back: int = 72,
    end: datetime | None = None,
    ld_tenant: str | None = None,
) -> SeedCounts:
    """Write the seed hour by hour: Rotterdam through `v2` (POST /v2/op/update, append),
    one request per service path; Aarhus through `ld` (POST
    /ngsi-ld/v1/entityOperations/upsert); either may be None.
    Each client's base URL is its broker's root. Raises httpx.HTTPStatusError on a refusal."""
    from gateway.demo import ngsi_urban  # water levels, noise, car parks

    when = hours(end or datetime.now(UTC), hours_back)
    more = (0, 0)
    v2_headers = {"Fiware-Service": ROTTERDAM_SERVICE, "Fiware-ServicePath": ROTTERDAM_PATH}
    water_headers = {**v2_headers, "Fiware-ServicePath": ROTTERDAM_WATER_PATH}
    traffic_headers = {**v2_headers, "Fiware-ServicePath": ROTTERDAM_TRAFFIC_PATH}
    ld_headers = {"Link": LINK, **({"NGSILD-Tenant": ld_tenant} if ld_tenant else {})}
    for at in when:
        if v2 is not None:
            body = {"actionType": "append", "entities": rotterdam_entities(at)}
            r = await v2.post("/v2/op/update", json=body, headers=v2_headers)
            r.raise_for_status()
            body = {"actionType": "append", "entities": rotterdam_water_entities(at)}
            r = await v2.post("/v2/op/update", json=body, headers=water_headers)
            r.raise_for_status()
            body = {"actionType": "append", "entities": rotterdam_lanes(at, stamp)}
            r = await v2.post("/v2/op/update", json=body, headers=traffic_headers)
            r.raise_for_status()
        if ld is not None:
            body = aarhus_entities(at) + aarhus_energy_entities(at)
            r = await ld.post("/ngsi-ld/v1/entityOperations/upsert", json=body, headers=ld_headers)
            r.raise_for_status()
        more = await ngsi_urban.load_hour(v2, ld, at, ld_headers)
    return SeedCounts(
        len(when),
        len(ROTTERDAM) + len(ROTTERDAM_WATER) + 2 * len(ROTTERDAM_SITES) + more[0]
        if v2 is not None
        else 0,
        len(AARHUS_AIR) + len(AARHUS_WATER) + len(AARHUS_METERS) + more[1] if ld is not None else 0,
    )


async def load_into_apps(
    v2_app: Any | None = None,
    ld_app: Any | None = None,
    *,
    hours_back: int = 72,
    end: datetime | None = None,
) -> SeedCounts:
    """Load the seed into in-process broker apps through their own routes, without a
    socket: Rotterdam into `v2_app` (gateway.demo.ngsibroker.create_app()), Aarhus into
    `ld_app` (the NGSI-LD broker app); either may be None, both may be one app."""

    def client(app: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://broker")

    async with client(v2_app) as v2, client(ld_app) as ld:
        return await load_seed(
            v2 if v2_app is not None else None,
            ld if ld_app is not None else None,
            hours_back=hours_back,
            end=end,
        )


@dataclass
class DemoBrokers:
    """The demo's two brokers, running: their roots, and how to stop them."""

    v2_url: str
    ld_url: str
    counts: SeedCounts
    threads: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for thread in self.threads:
            thread.stop()


def start_demo_brokers(
    hours_back: int = 72, end: datetime | None = None, host: str = "127.0.0.1"
) -> DemoBrokers:
    """The NGSI-v2 broker (Rotterdam) and the NGSI-LD broker (Aarhus), seeded with
    `hours_back` hours up to `end` (default: now), each served on a free port of `host` in a
    thread of its own. Call it outside a running event loop (before `serve`); inside one,
    `await load_into_apps(...)` and start `gateway.demo.ngsibroker.serve.BrokerThread`s."""
    from gateway.demo.ngsibroker import create_app
    from gateway.demo.ngsibroker.ld import create_ld_app
    from gateway.demo.ngsibroker.serve import BrokerThread

    v2_app, ld_app = create_app(v2=True), create_ld_app()
    counts = asyncio.run(load_into_apps(v2_app, ld_app, hours_back=hours_back, end=end))
    threads = [BrokerThread(v2_app, host), BrokerThread(ld_app, host)]
    urls = []
    try:
        for thread in threads:
            urls.append(thread.start())
    except Exception:
        for thread in threads:
            if thread.thread.is_alive():
                thread.stop()
        raise
    return DemoBrokers(urls[0], urls[1], counts, threads)
