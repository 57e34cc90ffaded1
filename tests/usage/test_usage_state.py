"""The usage state behind every worker: tallies of several workers add up in the shared
file (distinct clients once each), days roll over at UTC midnight, old days leave, and
memory stays bounded however many clients come."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.config import parse_config
from gateway.metrics import ROUTE_KEY
from gateway.usage.attribution import FEATURES, SENSORTHINGS, Attribution
from gateway.usage.config import UsageSettings
from gateway.usage.served import SERVED_KEY
from gateway.usage.service import Usage
from gateway.usage.tally import Tally

ITEMS = "/{tenant}/collections/{cid}/items"
STA = "/{tenant}/sta/{version}/{path:anypath}"


def attribution() -> Attribution:
    return Attribution(
        {ITEMS: FEATURES, STA: SENSORTHINGS},
        ["hamburg", "leipzig"],
        {("hamburg", "trees"): "street-trees"},
        {"leipzig": "air-quality"},
    )


def usage(path: Path | None, clock: Any = None, **settings: Any) -> Usage:
    cfg = UsageSettings(**settings)
    made = Usage(cfg, attribution(), b"k" * 32, path)
    if clock is not None:
        made.clock = clock
    return made


def scope(client: str | None, features: int = 1, tenant: str = "hamburg") -> dict[str, Any]:
    headers = [(b"x-client", client.encode())] if client else []
    return {
        "type": "http",
        "method": "GET",
        "headers": headers,
        ROUTE_KEY: ITEMS,
        "path_params": {"tenant": tenant, "cid": "trees"},
        SERVED_KEY: features,
    }


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def cell(u: Usage, day: str, tenant: str = "hamburg") -> dict[str, Any]:
    profile = "street-trees" if tenant == "hamburg" else "none"
    return next(
        r for r in u.rows if (r["day"], r["tenant"], r["profile"]) == (day, tenant, profile)
    )


def test_two_workers_sharing_the_state_count_each_client_once(tmp_path: Path):
    state = tmp_path / "usage.sqlite"
    one, two = usage(state), usage(state)
    for name in ("qgis", "portal", None):
        one.record(scope(name, 2), 200, 100)
    for name in ("qgis", "gdal"):
        two.record(scope(name, 3), 200, 10)
    one.flush_sync()
    two.flush_sync()
    one.flush_sync()  # re-reads what the other wrote
    today = one.today()
    for u in (one, two):
        row = cell(u, today)
        assert (row["requests"], row["features"], row["bytes"]) == (5, 12, 320)
        assert (row["clients"], row["unidentified"], row["clientsAtLeast"]) == (3, 1, False)
    restarted = usage(state)  # the days survive a restart
    restarted.flush_sync()
    assert cell(restarted, today)["clients"] == 3


def _worker(state: str, names: list[str]) -> None:
    u = usage(Path(state))
    for name in names:
        u.record(scope(name), 200, 1)
    asyncio.run(u.flush())


def test_worker_processes_flushing_at_once_add_up(tmp_path: Path):
    state = str(tmp_path / "usage.sqlite")
    ctx = multiprocessing.get_context("spawn")
    names = [[f"app-{i}" for i in range(k, k + 50)] for k in (0, 25, 50)]
    procs = [ctx.Process(target=_worker, args=(state, n)) for n in names]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    reader = usage(Path(state))
    reader.flush_sync()
    row = cell(reader, reader.today())
    assert (row["requests"], row["clients"]) == (150, 100)


def test_a_day_rolls_over_at_utc_midnight_and_old_days_leave(tmp_path: Path):
    now = [at("2026-03-01T23:59:59")]
    u = usage(tmp_path / "u.sqlite", clock=lambda: now[0], days_kept=2, catalog_days=7)
    u.record(scope("qgis"), 200, 5)
    now[0] = at("2026-03-02T00:00:01")
    u.record(scope("qgis"), 200, 5)
    u.record(scope("gdal"), 200, 5)
    u.flush_sync()
    assert (cell(u, "2026-03-01")["requests"], cell(u, "2026-03-02")["requests"]) == (1, 2)
    assert (cell(u, "2026-03-01")["clients"], cell(u, "2026-03-02")["clients"]) == (1, 2)
    [total] = u.totals  # over both days: qgis counts once
    assert (total["requests"], total["clients"]) == (3, 2)
    now[0] = at("2026-03-03T12:00:00")
    u.record(scope("qgis"), 200, 5)
    u.flush_sync()  # days_kept 2: 03-02 and 03-03 stay
    assert sorted({r["day"] for r in u.rows}) == ["2026-03-02", "2026-03-03"]


def test_distinct_clients_are_capped_and_then_flagged_at_least(tmp_path: Path):
    u = usage(tmp_path / "u.sqlite", max_clients=3)
    for i in range(10):
        u.record(scope(f"app-{i}"), 200, 1)
    counts = next(iter(u.tally.cells.values()))
    assert len(counts.clients) == 3 and counts.capped  # bounded in memory
    u.flush_sync()
    row = cell(u, u.today())
    assert (row["clients"], row["clientsAtLeast"], row["requests"]) == (3, True, 10)


def test_the_cap_holds_across_workers_in_the_shared_state(tmp_path: Path):
    state = tmp_path / "u.sqlite"
    one, two = usage(state, max_clients=4), usage(state, max_clients=4)
    for i in range(3):
        one.record(scope(f"a-{i}"), 200, 1)
        two.record(scope(f"b-{i}"), 200, 1)
    one.flush_sync()
    two.flush_sync()
    row = cell(two, two.today())
    assert (row["clients"], row["clientsAtLeast"]) == (4, True)


def test_sensorthings_count_to_the_tenants_one_profile_and_errors_not_at_all():
    u = usage(None)
    sta = {**scope(None), ROUTE_KEY: STA, "path_params": {"tenant": "leipzig"}}
    u.record(sta, 200, 1)
    u.record(scope("x"), 404, 50)
    u.record({**scope("x"), "path_params": {"tenant": "nowhere", "cid": "trees"}}, 200, 1)
    assert list(u.tally.cells) == [(u.today(), "leipzig", "air-quality", SENSORTHINGS)]


def test_a_failed_flush_keeps_the_tally_for_the_next(tmp_path: Path, monkeypatch):
    u = usage(tmp_path / "u.sqlite")
    u.record(scope("qgis", 4), 200, 7)

    def broken(batch: Tally, oldest: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(u.store, "add", broken)
    with pytest.raises(OSError):
        asyncio.run(u.flush())
    monkeypatch.undo()
    u.flush_sync()
    row = cell(u, u.today())
    assert (row["requests"], row["features"], row["bytes"], row["clients"]) == (1, 4, 7, 1)


def test_an_unwritable_state_path_is_a_configuration_error_naming_the_key(tmp_path: Path):
    from gateway.errors import ConfigError
    from gateway.usage.service import Usage as Built

    (tmp_path / "file").write_text("")
    data = {"server": {"usage": {"state_path": "file/usage.sqlite"}}, "tenants": {}}
    loaded = parse_config(data, "city.yaml", tmp_path)
    with pytest.raises(ConfigError, match=r"city.yaml: server.usage.state_path: .*file"):
        Built.from_config(loaded, attribution())


def test_the_configuration_reference_documents_server_usage():
    from gateway.configdoc import reference

    text = reference()
    section = text[text.index("`server.usage`") :]
    for key in ("state_path", "days_kept", "flush_seconds", "max_clients", "client_secret"):
        assert f"`{key}`" in section.split("####")[0]
