"""Demo traffic detectors, in two source shapes, for the traffic-flow profile:

- Rotterdam (NGSI-v2, `rotterdam_lanes`): six lanes at three sites as Smart Data Models
  `TrafficFlowObserved` entities in service path `/traffic`, hourly: `intensity` (vehicles
  in the hour, no unitCode: UN/CEFACT has none), `averageVehicleSpeed` (km/h, KMH),
  `occupancy` as SDM defines it, a fraction 0..1 (C62), and `laneId`;
- Leipzig (an Array-of-Things-style digest, `write_traffic_digest`): eight induction-loop
  lanes at four sites as digest nodes (one node per lane, `lane_id` in nodes.csv),
  15-minute `count` (veh), `speed` (km/h) and `occupancy` (%).

Rotterdam's occupancy is a fraction where the profile says percent: its sync entry converts
it (`convert: {occupancy: "1"}`, x 100); Leipzig's fits as it is. A value depends only on
the lane and the time (a daily curve with two rush hours, a fixed per-lane level, hashed
noise).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROTTERDAM_TRAFFIC_PATH = "/traffic"
# (code, site, lon, lat): two lanes each (laneId 1 and 2)
ROTTERDAM_SITES = [
    ("MAAS-N", "Maastunnel noord", 4.4683, 51.9035),
    ("ERAS-Z", "Erasmusbrug zuid", 4.4826, 51.9092),
    ("COOL", "Coolsingel", 4.4790, 51.9220),
]
LEIPZIG_SITES = [
    ("LE-V01", "Jahnallee stadteinwärts", 12.3570, 51.3420),
    ("LE-V02", "Prager Straße stadtauswärts", 12.3990, 51.3280),
    ("LE-V03", "Georg-Schumann-Straße", 12.3560, 51.3660),
    ("LE-V04", "Karl-Liebknecht-Straße", 12.3760, 51.3210),
]
DIGEST_START = datetime(2024, 3, 4, tzinfo=UTC)  # the air digest's Monday
DIGEST_STEPS = 2 * 24 * 4  # two days at 15 minutes
TRAFFIC_DIGEST_SENSORS = [
    # ontology, subsystem, sensor, parameter, unit, min, max, datasheet
    ("/sensing/traffic/vehicle_count", "loop", "idl", "count", "veh", 0, 1000, ""),
    ("/sensing/traffic/average_speed", "loop", "idl", "speed", "km/h", 0, 250, ""),
    ("/sensing/traffic/occupancy", "loop", "idl", "occupancy", "%", 0, 100, ""),
]
CAPACITY = 1800  # vehicles per hour and lane


def _noise(*parts: object) -> float:
    """A value in [-1, 1] fixed by its parts."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def _flow(lane: str, at: datetime) -> float:
    """Vehicles per hour on a lane at `at`: night low, two rush hours, quieter weekends."""
    hour = at.hour + at.minute / 60
    day = 0.35 + 0.65 * math.exp(-((hour - 13) ** 2) / 30)
    rush = math.exp(-((hour - 8) ** 2) / 1.5) + 0.9 * math.exp(-((hour - 17) ** 2) / 2)
    weekend = 0.7 if at.weekday() >= 5 else 1.0
    level = 1 + 0.2 * _noise(lane)
    raw = CAPACITY * level * weekend * (0.45 * day + 0.45 * rush) * (1 + 0.08 * _noise(lane, at))
    return max(raw * (1.0 if hour >= 5 else 0.25), 0.0)


def _state(lane: str, at: datetime, minutes: int) -> tuple[int, float, float]:
    """(vehicles in the interval, average speed km/h, occupancy 0..1) of a lane."""
    flow = _flow(lane, at)
    load = min(flow / CAPACITY, 1.0)
    speed = max(8.0, 52.0 * (1 - 0.7 * load**3) + 3 * _noise(lane, at, "v"))
    occupancy = min(0.95, 0.02 + 0.45 * load**1.5)
    return round(flow * minutes / 60), round(speed, 1), round(occupancy, 3)


def rotterdam_lanes(at: datetime, stamp: Callable[[datetime], str]) -> list[dict[str, Any]]:
    """The six Rotterdam lanes for the hour ending at `at`, NGSI-v2 normalized."""
    entities = []
    for code, site, lon, lat in ROTTERDAM_SITES:
        for lane in (1, 2):
            ident = f"{code}-L{lane}"
            count, speed, occupancy = _state(ident, at, 60)
            entities.append(
                {
                    "id": f"Rotterdam-TrafficFlowObserved-{ident}",
                    "type": "TrafficFlowObserved",
                    "name": {"type": "Text", "value": f"{site} rijstrook {lane}"},
                    "dateObserved": {"type": "DateTime", "value": stamp(at)},
                    "dateObservedFrom": {
                        "type": "DateTime",
                        "value": stamp(at - timedelta(hours=1)),
                    },
                    "dateObservedTo": {"type": "DateTime", "value": stamp(at)},
                    "location": {
                        "type": "geo:json",
                        "value": {"type": "Point", "coordinates": [lon, lat]},
                    },
                    "laneId": {"type": "Number", "value": lane},
                    "intensity": {"type": "Number", "value": count, "metadata": {}},
                    "averageVehicleSpeed": {
                        "type": "Number",
                        "value": speed,
                        "metadata": {"unitCode": {"type": "Text", "value": "KMH"}},
                    },
                    "occupancy": {
                        "type": "Number",
                        "value": occupancy,
                        "metadata": {"unitCode": {"type": "Text", "value": "C62"}},
                    },
                }
            )
    return entities


def _lanes() -> list[tuple[str, str, str, float, float, int]]:
    """(node id, vsn, site, lon, lat, lane) of Leipzig's loop lanes."""
    return [
        (f"0e2e{i * 16 + lane:08x}", f"{code}{lane}", site, lon, lat, lane)
        for i, (code, site, lon, lat) in enumerate(LEIPZIG_SITES, start=1)
        for lane in (1, 2)
    ]


def write_traffic_digest(folder: Path) -> int:
    """Write Leipzig's detector digest (nodes.csv, sensors.csv, data.csv.gz); returns rows."""
    folder.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["node_id", "project_id", "vsn", "address", "lat", "lon", "description", "lane_id"]
    )
    for node, vsn, site, lon, lat, lane in _lanes():
        description = f"Leipzig traffic detector (demo) {site}, lane {lane}"
        writer.writerow(
            [
                node,
                "Leipzig_VRZ",
                vsn,
                f"{site}, Leipzig",
                f"{lat:.4f}",
                f"{lon:.4f}",
                description,
                lane,
            ]
        )
    (folder / "nodes.csv").write_text(out.getvalue(), encoding="utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "ontology",
            "subsystem",
            "sensor",
            "parameter",
            "hrf_unit",
            "hrf_minval",
            "hrf_maxval",
            "datasheet",
        ]
    )
    writer.writerows(TRAFFIC_DIGEST_SENSORS)
    (folder / "sensors.csv").write_text(out.getvalue(), encoding="utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["timestamp", "node_id", "subsystem", "sensor", "parameter", "value_raw", "value_hrf"]
    )
    rows = 0
    for step in range(DIGEST_STEPS):
        at = DIGEST_START + timedelta(minutes=15 * (step + 1))  # the end of the interval
        stamp = at.strftime("%Y/%m/%d %H:%M:%S")
        for node, vsn, *_ in _lanes():
            count, speed, occupancy = _state(vsn, at, 15)
            for parameter, value in (
                ("count", count),
                ("speed", speed),
                ("occupancy", round(occupancy * 100, 1)),
            ):
                writer.writerow([stamp, node, "loop", "idl", parameter, "NA", value])
                rows += 1
    with (
        (folder / "data.csv.gz").open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
    ):
        gz.write(out.getvalue().encode("utf-8"))
    return rows
