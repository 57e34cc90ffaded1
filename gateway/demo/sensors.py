"""Sensor demo data for the SensorThings facade, generated deterministically:

All of it goes into the `sensorthings/` folder of the demo cache:

- `leipzig-aot/`: an Array-of-Things-style digest (`nodes.csv`, `sensors.csv`,
  `data.csv.gz`) of 20 air-quality nodes in Leipzig over one week at 5-minute steps:
  temperature on every node, PM10 and PM2.5 on 8 (Plantower), NO2 on 4 (Alphasense),
  a few readings missing (`NA`) as in real digests: about 80,000 observations;
- `leipzig-energy/`: a digest of the same shape with six public buildings' electricity
  meters (energy.py), two days at 15 minutes;
- `leipzig-traffic/`: one with eight induction-loop lanes' counts, speeds and occupancy
  (traffic.py), two days at 15 minutes;
- `sta-leipzig.sqlite`: those digests imported into an embedded STA store, meters and loops
  with the profiles that demo.yaml's Leipzig `imports` entries declare, as the running
  gateway would import them (its start-up import then finds nothing new);
- `sta-hamburg.sqlite`: Hamburg's e-charging status (see `charging.py`).

`ensure_sensor_demo(folder)` builds them once (under a lock, so parallel processes wait
for one builder) and rebuilds only when SENSOR_VERSION changes.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import gzip
import io
import json
import math
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SENSOR_VERSION = "4"
SUBFOLDER = "sensorthings"
MANIFEST = "sensors-manifest.json"
AOT_DIR = "leipzig-aot"
ENERGY_DIR = "leipzig-energy"
TRAFFIC_DIR = "leipzig-traffic"
DEMO_YAML = Path(__file__).with_name("demo.yaml")
STORES = {"leipzig": "sta-leipzig.sqlite", "hamburg": "sta-hamburg.sqlite"}
START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
STEPS = 7 * 24 * 12  # one week at 5 minutes
NODES = 20
PM_NODES = 8
NO2_NODES = 4
SENSORS = [
    # ontology, subsystem, sensor, parameter, unit, min, max, datasheet
    (
        "/sensing/meteorology/temperature",
        "metsense",
        "htu21d",
        "temperature",
        "C",
        -40,
        125,
        "https://github.com/waggle-sensor/sensors/blob/master/sensors/datasheets/htu21d.pdf",
    ),
    (
        "/sensing/air_quality/particulate_matter/pm10",
        "plantower",
        "pms7003",
        "pm10_atm",
        "ug/m3",
        0,
        1000,
        "https://github.com/waggle-sensor/sensors/blob/master/sensors/datasheets/pms7003.pdf",
    ),
    (
        "/sensing/air_quality/particulate_matter/pm2_5",
        "plantower",
        "pms7003",
        "pm25_atm",
        "ug/m3",
        0,
        1000,
        "https://github.com/waggle-sensor/sensors/blob/master/sensors/datasheets/pms7003.pdf",
    ),
    (
        "/sensing/air_quality/gases/no2",
        "alphasense",
        "no2b43f",
        "concentration",
        "ug/m3",
        0,
        2000,
        "https://github.com/waggle-sensor/sensors/blob/master/sensors/datasheets/no2b43f.pdf",
    ),
]
DISTRICTS = [
    "Zentrum",
    "Südvorstadt",
    "Connewitz",
    "Plagwitz",
    "Lindenau",
    "Gohlis",
    "Eutritzsch",
    "Reudnitz",
    "Stötteritz",
    "Probstheida",
    "Grünau",
    "Schönefeld",
    "Paunsdorf",
    "Mockau",
    "Möckern",
    "Leutzsch",
    "Lößnig",
    "Anger-Crottendorf",
    "Volkmarsdorf",
    "Schleußig",
]


def _node_rows(rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for i, district in enumerate(DISTRICTS[:NODES]):
        flags = " [P]" if i < PM_NODES else ""
        flags += " [A]" if i < NO2_NODES else ""
        rows.append(
            {
                "node_id": f"001e06{0x10A000 + i * 0x37:06x}",
                "project_id": "AoT_Leipzig",
                "vsn": f"L{i:03d}",
                "address": f"{district}, Leipzig",
                "lat": f"{51.300 + rng.random() * 0.08:.6f}",
                "lon": f"{12.300 + rng.random() * 0.15:.6f}",
                "description": f"AoT Leipzig (demo) {district}{flags}",
                "start_timestamp": "2024/01/15 00:00:00",
                "end_timestamp": "",
            }
        )
    return rows


def _value(parameter: str, step: int, node: int, rng: random.Random) -> float:
    hour = (step % 288) / 12
    rush = math.exp(-((hour - 8) ** 2) / 3) + 0.8 * math.exp(-((hour - 17.5) ** 2) / 4)
    weekday = 1.0 if step // 288 < 5 else 0.6  # the week starts on a Monday
    if parameter == "temperature":
        daily = 6 * math.sin(2 * math.pi * (hour - 9) / 24)
        return round(6 + daily + node * 0.05 + rng.gauss(0, 0.3), 1)
    if parameter == "concentration":
        return round(max(2.0, 22 + 30 * rush * weekday + rng.gauss(0, 4)), 1)
    pm10 = max(1.0, 14 + 16 * rush * weekday + 3 * math.sin(step // 288) + rng.gauss(0, 3))
    return round(pm10 if parameter == "pm10_atm" else pm10 * 0.62, 1)


def _readings(rng: random.Random) -> Iterator[list[str]]:
    node_ids = [f"001e06{0x10A000 + i * 0x37:06x}" for i in range(NODES)]
    for step in range(STEPS):
        minute = START + timedelta(minutes=5 * step)
        prefix = minute.strftime("%Y/%m/%d %H:%M")
        for i, node in enumerate(node_ids):
            stamp = f"{prefix}:{3 + i * 2:02d}"
            for _ontology, subsystem, sensor, parameter, *_ in SENSORS:
                if (
                    subsystem == "plantower"
                    and i >= PM_NODES
                    or subsystem == "alphasense"
                    and i >= NO2_NODES
                ):
                    continue
                missing = rng.random() < 0.004
                value = "NA" if missing else f"{_value(parameter, step, i, rng)}"
                yield [stamp, node, subsystem, sensor, parameter, "NA", value]


def write_aot(folder: Path, seed: int) -> int:
    """Write the Leipzig digest; returns the number of data rows."""
    rng = random.Random(seed * 7 + 1)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "nodes.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(
            f, fieldnames=list(_node_rows(random.Random(0))[0]), lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(_node_rows(rng))
    with (folder / "sensors.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
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
        writer.writerows(SENSORS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["timestamp", "node_id", "subsystem", "sensor", "parameter", "value_raw", "value_hrf"]
    )
    count = 0
    for row in _readings(rng):
        writer.writerow(row)
        count += 1
    with (
        (folder / "data.csv.gz").open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6) as gz,
    ):
        gz.write(buffer.getvalue().encode("utf-8"))
    return count


def _is_current(folder: Path, seed: int) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        manifest.get("generator_version") == SENSOR_VERSION
        and manifest.get("seed") == seed
        and all((folder / name).is_file() for name in STORES.values())
    )


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".sensors.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def leipzig_imports() -> dict[str, Any]:
    """Digest folder name -> the profile binding of demo.yaml's Leipzig `imports` entry
    for it (one place says how a digest maps onto its profile: the configuration)."""
    import yaml

    from gateway.sensorthings.config import AotImport

    doc = yaml.safe_load(DEMO_YAML.read_text(encoding="utf-8"))
    entries = doc["tenants"]["leipzig"]["sensorthings"].get("imports") or []
    items = [AotImport(**entry) for entry in entries]
    return {Path(item.path).name: item.profile_binding() for item in items}


def build(folder: Path, seed: int) -> dict[str, int]:
    """Generate the digests and both stores into `folder` (stores via temporary files)."""
    from gateway.demo.charging import import_charging
    from gateway.demo.energy import write_energy_digest
    from gateway.demo.traffic import write_traffic_digest
    from gateway.sensorthings.aot import import_sync

    rows = write_aot(folder / AOT_DIR, seed)
    counts = {
        "aot_rows": rows,
        "energy_rows": write_energy_digest(folder / ENERGY_DIR),
        "traffic_rows": write_traffic_digest(folder / TRAFFIC_DIR),
    }
    profiled = leipzig_imports()
    for city, name in STORES.items():
        tmp = folder / f".{name}.building"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        if city == "leipzig":
            counts["leipzig_observations"] = import_sync(tmp, folder / AOT_DIR).observations
            for digest, binding in profiled.items():
                result = import_sync(tmp, folder / digest, binding)
                counts[f"{digest}_observations"] = result.observations
        else:
            counts["hamburg_observations"] = import_charging(tmp, seed)
        _checkpoint(tmp)
        os.replace(tmp, folder / name)
    return counts


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file so that the file alone is the whole store."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def ensure_sensor_demo(demo_folder: Path, seed: int) -> Path:
    """Build the sensor demo into `<demo_folder>/sensorthings/` unless it is there for this
    version and seed; returns `demo_folder`."""
    folder = demo_folder / SUBFOLDER
    if _is_current(folder, seed):
        return demo_folder
    with _locked(folder):
        if not _is_current(folder, seed):
            counts = build(folder, seed)
            manifest = {"generator_version": SENSOR_VERSION, "seed": seed, "counts": counts}
            tmp = folder / f".{MANIFEST}.tmp"
            tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, folder / MANIFEST)
    return demo_folder
