"""The SensorThings data-quality computation, on Datastreams built from each installed
sensorthings profile (no per-profile code: a new profile is tested as it is added)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import profiles
from gateway.quality.datastreams import DatastreamAccumulator
from tests.datacatalog.stations import bad_station, good_station

TIMES = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]
NOW = datetime(2026, 1, 3, 12, tzinfo=UTC)
STA_PROFILES = [p for p in profiles.available() if profiles.get(p).kind == "sensorthings"]


def expanded(thing: dict[str, Any], thing_id: int) -> list[dict[str, Any]]:
    """The Thing's Datastreams as the catalog reads them: Thing (and Locations) expanded,
    Observations newest first."""
    shown = {k: v for k, v in thing.items() if k != "Datastreams"}
    streams = []
    for i, ds in enumerate(thing["Datastreams"]):
        observations = sorted(ds["Observations"], key=lambda o: o["phenomenonTime"])[::-1]
        streams.append(
            {
                **ds,
                "@iot.id": thing_id * 100 + i,
                "Thing": {**shown, "@iot.id": thing_id},
                "Observations": observations,
            }
        )
    return streams


@pytest.mark.parametrize("pid", STA_PROFILES)
def test_a_station_that_holds_to_the_profile_has_no_problems(pid: str):
    profile = profiles.get(pid)
    figures = DatastreamAccumulator(profile, now=lambda: NOW, stale_seconds=86400)
    figures.add_many(expanded(good_station(profile, TIMES), 1))
    q = figures.report()
    assert q["valid"]["share"] == 1.0, q["examples"]["schema"]
    assert set(q["completeness"].values()) == {1.0}
    assert q["observations"]["implausible"] == 0 and q["observations"]["checked"] > 0
    assert set(q["outside_code_list"].values()) == {0}
    assert q["geometry"] == {"missing": 0, "empty": 0, "invalid": 0}
    assert q["freshness"]["stale_datastreams"] == 0
    assert q["freshness"]["staleness_seconds"] == 12 * 3600


@pytest.mark.parametrize("pid", STA_PROFILES)
def test_a_bad_station_shows_in_every_figure_it_breaks(pid: str):
    profile = profiles.get(pid)
    figures = DatastreamAccumulator(profile, now=lambda: NOW, stale_seconds=3600)
    figures.add_many(expanded(bad_station(profile, TIMES), 2))
    q = figures.report()
    assert q["valid"]["share"] == 0.0
    assert q["completeness"]["Datastream/profileVersion"] == 0.0
    assert all(
        q["completeness"][f"Thing/{k}"] == 0.0 for k in profile.sensorthings.thing_properties
    )  # type: ignore[union-attr]
    assert q["outside_code_list"]["unitOfMeasurement"] == 1
    assert sum(q["out_of_range"].values()) == 2  # above and below the range
    assert q["geometry"]["missing"] == 1
    assert q["freshness"]["stale_datastreams"] == 1


def test_duplicate_ids_and_names_and_wrong_result_types_are_counted():
    profile = profiles.get("air-quality")
    figures = DatastreamAccumulator(profile, now=lambda: NOW, window=1)
    streams = expanded(good_station(profile, TIMES), 1)
    copy = {**streams[0], "Observations": [{"phenomenonTime": TIMES[0], "result": "high"}]}
    figures.add_many([*streams, copy])
    q = figures.report()
    assert q["ids"]["duplicates"] == 1 and q["names"]["duplicates"] == 1
    assert sum(q["wrong_result_type"].values()) == 1
    assert q["observations"]["checked"] == len(streams) + 1  # the window: 1 per Datastream
    assert q["things"] == 1


def test_a_features_profile_is_refused():
    with pytest.raises(ValueError, match="not a SensorThings one"):
        DatastreamAccumulator(profiles.get("street-trees"))
