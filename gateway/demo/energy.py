"""Demo electricity meters of buildings, in two source shapes, for the energy profile:

- Aarhus (NGSI-LD, `aarhus_meters`): five buildings of the Aarhus Ø positive-energy
  district as Smart Data Models `ACMeasurement` entities: the registers
  `totalActiveEnergyImport` and (where a PV plant feeds out) `totalActiveEnergyExport` in
  kWh (unitCode KWH), `totalActivePower` in kW (KWT), each with its `observedAt`;
- Leipzig (an Array-of-Things-style digest, `write_energy_digest`): six public buildings'
  meters as digest nodes, 15-minute readings of `energy_import` and `power` (board `meter`)
  and, on the buildings with PV, `energy_export` (board `pvmeter`), units `kWh` and `kW`.

A register is the integral of a load curve that depends only on the building and the time
(base load, a working-day peak, a PV bell between 6 and 18 h), in closed form, so any window
of hours gives the same numbers and registers only grow.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # the registers count from here
# (code, name, lon, lat, peak PV power in kW or 0): buildings of the Aarhus Ø district.
AARHUS_METERS = [
    ("AAR-PED-01", "Aarhus Ø - Bolig Bassin 7", 10.2262, 56.1620, 60.0),
    ("AAR-PED-02", "Aarhus Ø - Kontor Pier 4", 10.2321, 56.1593, 0.0),
    ("AAR-PED-03", "Aarhus Ø - Skole Isbjerget", 10.2298, 56.1651, 90.0),
    ("AAR-PED-04", "Aarhus Ø - Bolig Lighthouse", 10.2240, 56.1668, 0.0),
    ("AAR-PED-05", "Aarhus Ø - Parkeringshus", 10.2205, 56.1604, 140.0),
]
DIGEST_START = datetime(2024, 3, 4, tzinfo=UTC)  # the air digest's Monday
DIGEST_STEPS = 2 * 24 * 4  # two days at 15 minutes
# (vsn, building, district, lon, lat, base load kW, peak kW, PV peak kW, ALKIS-style id)
LEIPZIG_BUILDINGS = [
    ("LE-E001", "Neues Rathaus", "Zentrum", 12.3717, 51.3359, 180.0, 260.0, 0.0, "DESNALK0100001"),
    ("LE-E002", "Schule Gohlis", "Gohlis", 12.3706, 51.3608, 25.0, 70.0, 45.0, "DESNALK0100002"),
    ("LE-E003", "Kita Connewitz", "Connewitz", 12.3800, 51.3090, 6.0, 18.0, 20.0, "DESNALK0100003"),
    ("LE-E004", "Sporthalle Grünau", "Grünau", 12.2830, 51.3200, 12.0, 40.0, 0.0, "DESNALK0100004"),
    ("LE-E005", "Stadtbibliothek", "Zentrum", 12.3783, 51.3370, 40.0, 85.0, 0.0, "DESNALK0100005"),
    (
        "LE-E006",
        "Feuerwache Süd",
        "Südvorstadt",
        12.3740,
        51.3220,
        15.0,
        25.0,
        30.0,
        "DESNALK0100006",
    ),
]
ENERGY_DIGEST_SENSORS = [
    # ontology, subsystem, sensor, parameter, unit, min, max, datasheet
    ("/sensing/energy/active_energy_import", "meter", "ehz", "energy_import", "kWh", 0, 1e9, ""),
    ("/sensing/energy/active_power", "meter", "ehz", "power", "kW", 0, 1e5, ""),
    ("/sensing/energy/active_energy_export", "pvmeter", "ehz", "energy_export", "kWh", 0, 1e9, ""),
]


def _hours(at: datetime) -> float:
    return (at - EPOCH).total_seconds() / 3600


def _load(base: float, peak: float, t: float) -> float:
    """kW drawn at hour t: base load plus a daytime bump (sin over 6..18 h)."""
    h = t % 24
    return base + (peak * math.sin(math.pi * (h - 6) / 12) if 6 <= h <= 18 else 0.0)


def _bump_integral(peak: float, t: float) -> float:
    """kWh of the daytime bump (or a PV bell) from EPOCH to hour t."""
    days, h = divmod(t, 24)
    daily = peak * 24 / math.pi
    part = (
        0.0
        if h < 6
        else daily
        if h > 18
        else peak * 12 / math.pi * (1 - math.cos(math.pi * (h - 6) / 12))
    )
    return days * daily + part


def _registers(base: float, peak: float, pv: float, at: datetime) -> tuple[float, float, float]:
    """(consumed kWh, produced kWh, power kW) of a building at `at`."""
    t = _hours(at)
    consumed = 1000.0 + base * t + _bump_integral(peak, t)
    produced = _bump_integral(pv, t)
    return round(consumed, 1), round(produced, 1), round(_load(base, peak, t), 2)


def _prop(value: float, unit: str, when: str) -> dict[str, Any]:
    return {"type": "Property", "value": value, "unitCode": unit, "observedAt": when}


def aarhus_meters(at: datetime, stamp: Callable[[datetime], str]) -> list[dict[str, Any]]:
    """The Aarhus meters at one time, NGSI-LD normalized."""
    entities = []
    for i, (code, name, lon, lat, pv) in enumerate(AARHUS_METERS):
        base, peak = 20.0 + 15 * i, 35.0 + 20 * i
        consumed, produced, power = _registers(base, peak, pv, at)
        when = stamp(at)
        entity: dict[str, Any] = {
            "id": f"urn:ngsi-ld:ACMeasurement:{code}",
            "type": "ACMeasurement",
            "name": {"type": "Property", "value": name},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [lon, lat]},
            },
            "phaseType": {"type": "Property", "value": "threePhase"},
            "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{code}"},
            "totalActiveEnergyImport": _prop(consumed, "KWH", when),
            "totalActivePower": _prop(power, "KWT", when),
        }
        if pv:
            entity["totalActiveEnergyExport"] = _prop(produced, "KWH", when)
        entities.append(entity)
    return entities


def _digest_rows() -> list[list[str]]:
    rows = []
    for step in range(DIGEST_STEPS):
        at = DIGEST_START + timedelta(minutes=15 * step)
        stamp = at.strftime("%Y/%m/%d %H:%M:%S")
        for i, (*_, base, peak, pv, _alkis) in enumerate(LEIPZIG_BUILDINGS):
            node = f"0e1e{i + 1:08x}"
            consumed, produced, power = _registers(base, peak, pv, at)
            rows.append([stamp, node, "meter", "ehz", "energy_import", "NA", f"{consumed}"])
            rows.append([stamp, node, "meter", "ehz", "power", "NA", f"{power}"])
            if pv:
                rows.append([stamp, node, "pvmeter", "ehz", "energy_export", "NA", f"{produced}"])
    return rows


def write_energy_digest(folder: Path) -> int:
    """Write Leipzig's meter digest (nodes.csv, sensors.csv, data.csv.gz); returns rows."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes = io.StringIO()
    writer = csv.writer(nodes, lineterminator="\n")
    writer.writerow(
        ["node_id", "project_id", "vsn", "address", "lat", "lon", "description", "building_id"]
    )
    for i, (vsn, building, district, lon, lat, *_rest, alkis) in enumerate(LEIPZIG_BUILDINGS):
        writer.writerow(
            [
                f"0e1e{i + 1:08x}",
                "Leipzig_Gebaeudeenergie",
                vsn,
                f"{building}, {district}, Leipzig",
                f"{lat:.4f}",
                f"{lon:.4f}",
                f"Leipzig building meter (demo) {building}",
                alkis,
            ]
        )
    (folder / "nodes.csv").write_text(nodes.getvalue(), encoding="utf-8")
    sensors = io.StringIO()
    writer = csv.writer(sensors, lineterminator="\n")
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
    writer.writerows(ENERGY_DIGEST_SENSORS)
    (folder / "sensors.csv").write_text(sensors.getvalue(), encoding="utf-8")
    rows = _digest_rows()
    data = io.StringIO()
    writer = csv.writer(data, lineterminator="\n")
    writer.writerow(
        ["timestamp", "node_id", "subsystem", "sensor", "parameter", "value_raw", "value_hrf"]
    )
    writer.writerows(rows)
    with (
        (folder / "data.csv.gz").open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
    ):
        gz.write(data.getvalue().encode("utf-8"))
    return len(rows)
