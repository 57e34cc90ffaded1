"""Hamburg's e-charging status as demo data, in the shape of the city's FROST server
(iot.hamburg.de): one Thing per charging station, one Datastream per charging point
(`properties/serviceName` 'HH_STA_E-Ladestationen', `layerName` 'Status_E-Ladepunkt'),
one Observation per status change over one week (AVAILABLE, CHARGING, OCCUPIED, ...)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.demo.places import HAMBURG_BOX, hamburg_bezirk

START = datetime(2024, 3, 4, tzinfo=UTC)
END = START + timedelta(days=7)
STATIONS = 40
SERVICE = "HH_STA_E-Ladestationen"
LAYER = "Status_E-Ladepunkt"
CATEGORY = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation"
OPERATORS = ("Stromnetz Hamburg", "Hamburg Energie", "EnBW", "Allego")
LOCAL_KEYS = ("points", "x", "y", "street", "house_number")  # not part of the Thing
STREETS = (
    "Jungfernstieg",
    "Mönckebergstraße",
    "Osterstraße",
    "Eppendorfer Baum",
    "Mühlenkamp",
    "Bahrenfelder Straße",
    "Wandsbeker Marktstraße",
    "Lange Reihe",
    "Schanzenstraße",
    "Elbchaussee",
    "Fuhlsbüttler Straße",
    "Bergedorfer Straße",
    "Harburger Ring",
)


def _station(rng: random.Random, n: int, to_wgs84: Any) -> dict[str, Any]:
    west, south, east, north = HAMBURG_BOX  # EPSG:25832
    x, y = rng.uniform(west, east), rng.uniform(south, north)
    lon, lat = to_wgs84(x, y)
    street = rng.choice(STREETS)
    number = rng.randint(1, 180)
    name = f"{street} {number}"
    points = 2 if rng.random() < 0.8 else 4
    properties = {
        "serviceName": SERVICE,
        "assetID": f"HH-{n:04d}",
        "operator": rng.choice(OPERATORS),
        "district": hamburg_bezirk(x, y),
    }
    return {
        "name": f"E-Ladestation {name}",
        "description": f"Ladestation {name}, {points} Ladepunkte (Demo)",
        "properties": properties,
        "Locations": [
            {
                "name": name,
                "description": f"Standort der Ladestation {name}",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            }
        ],
        "points": points,
        # kept for the stations' Features demo (charging_points.py), not stored as STA
        "x": x,
        "y": y,
        "street": street,
        "house_number": str(number),
    }


def stations(seed: int) -> list[dict[str, Any]]:
    """The stations as the STA store holds them (same seed, same stations), each with its
    EPSG:25832 position (`x`, `y`), street, house number and number of charging points:
    what the stations' Features demo describes."""
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True).transform
    rng = random.Random(seed * 11 + 3)
    return [_station(rng, n, to_wgs84) for n in range(1, STATIONS + 1)]


def _statuses(rng: random.Random) -> list[tuple[datetime, str]]:
    """Status changes of one charging point over the week."""
    t, out = START, [(START, "AVAILABLE")]
    while True:
        t += timedelta(minutes=rng.randint(20, 300))
        if t >= END:
            return out
        roll = rng.random()
        if roll < 0.03:
            status, minutes = rng.choice(("FAULTED", "UNAVAILABLE")), rng.randint(60, 600)
        elif roll < 0.08:
            status, minutes = "RESERVED", rng.randint(10, 30)
        else:
            status, minutes = "CHARGING", rng.randint(30, 240)
        out.append((t, status))
        t += timedelta(minutes=minutes)
        if t >= END:
            return out
        if status == "CHARGING" and rng.random() < 0.4:
            out.append((t, "OCCUPIED"))
            t += timedelta(minutes=rng.randint(10, 90))
        if t >= END:
            return out
        out.append((t, "AVAILABLE"))


def _datastream(station: dict[str, Any], point: int, refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"{station['name']} Ladepunkt {point}",
        "description": f"Status von Ladepunkt {point} der {station['name']}",
        "unitOfMeasurement": {
            "name": "Status",
            "symbol": "",
            "definition": "https://iot.hamburg.de/status",
        },
        "observationType": CATEGORY,
        "properties": {
            "serviceName": SERVICE,
            "layerName": LAYER,
            "mediaMonitored": "transport",
            "chargingPoint": point,
        },
        **refs,
    }


def import_charging(store_path: Path, seed: int) -> int:
    """Write the Hamburg demo into an SQLite store; returns the number of observations."""
    from pyproj import Transformer

    from gateway.sensorthings.store.dialect import SQLITE
    from gateway.sensorthings.store.sqlite import write_sync
    from gateway.sensorthings.store.write import WriteContext

    to_wgs84 = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True).transform
    rng = random.Random(seed * 11 + 3)
    stations = [_station(rng, n, to_wgs84) for n in range(1, STATIONS + 1)]
    streams = [[_statuses(rng) for _ in range(s["points"])] for s in stations]
    return write_sync(store_path, lambda ctx: _plan(ctx, stations, streams), WriteContext(SQLITE))


def _plan(
    ctx: Any, stations: list[dict[str, Any]], streams: list[list[list[tuple[datetime, str]]]]
) -> Any:
    from gateway.sensorthings.model import BY_NAME
    from gateway.sensorthings.store.bulk import insert_observations
    from gateway.sensorthings.store.values import dumps, result_columns
    from gateway.sensorthings.store.write import feature_for, insert
    from gateway.sensorthings.timefmt import micros

    sensor = {
        "name": "Ladesäule",
        "description": "Ladesäulen-Backend (OCPP)",
        "encodingType": "text/html",
        "metadata": "https://www.hamburg.de/elektromobilitaet",
    }
    prop = {
        "name": "Ladepunktstatus",
        "definition": "https://iot.hamburg.de/ObservedProperty/Ladepunktstatus",
        "description": "Belegungszustand eines Ladepunkts",
    }
    refs = {"Sensor": sensor, "ObservedProperty": prop}
    rows: list[list[Any]] = []
    for station, changes in zip(stations, streams, strict=True):
        body = {k: v for k, v in station.items() if k not in LOCAL_KEYS}
        thing = yield from insert(ctx, BY_NAME["Thing"], body)
        for point, statuses in enumerate(changes, start=1):
            ds_body = _datastream(station, point, refs) | {"Thing": {"@iot.id": thing}}
            ds = yield from insert(ctx, BY_NAME["Datastream"], ds_body)
            if "@iot.id" not in refs["Sensor"]:
                found = yield from _refs_of(ds)
                refs = {"Sensor": {"@iot.id": found[0]}, "ObservedProperty": {"@iot.id": found[1]}}
            foi = yield from feature_for(ctx, ds, None)
            for when, status in statuses:
                t = micros(when)
                rows.append(
                    [
                        t,
                        t,
                        t,
                        *result_columns(status),
                        None,
                        None,
                        None,
                        dumps({"source": "OCPP"}),
                        ds,
                        None,
                        foi,
                    ]
                )
    yield from insert_observations(ctx, rows, record=False)
    return len(rows)


def _refs_of(ds: int) -> Any:
    from gateway.sensorthings.store.plan import Stmt

    rows = yield Stmt(
        f"SELECT sensor_id, observed_property_id FROM datastreams WHERE id = {int(ds)}"
    )
    return int(rows[0][0]), int(rows[0][1])
