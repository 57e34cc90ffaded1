"""Scale-out with Redis-shared state: what one instance learns or does holds on the other.
An open circuit, a client's rate limit and a Features write made through one instance are
seen through the other, directly and through HAProxy, and the shared response cache never
hands the other instance an answer the write made stale (once `version_ttl` has passed).
Features writes through HAProxy while g1 is killed lose nothing acknowledged (last test).

This module's cluster has a configuration of its own (a source behind a fault proxy, a
rate-limited tenant, a writable PostGIS table), so it is the second cluster of the package."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from itertools import cycle
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import orjson
import pytest
import redis

from tests.faults import FaultProxy
from tests.postgis_fixtures import PostGIS
from tests.scaleout.cluster import TREE_FIELDS, Cluster, Shared, start_cluster

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("scaleout")]

FLAKY = "/flaky/collections/x/items?limit=1"
LIMITED = "/limited/collections/trees/items?limit=1"
WRITTEN = "/w/collections/trees/items"
CACHED = "/w/collections/cached/items"
READ_KEY, WRITE_KEY = "scaleout-read-key", "scaleout-write-key"
PER_CLIENT = 10
VERSION_TTL = 0.5  # server.http_cache.version_ttl: how long another process may lag a write
SERVER_TIME = re.compile(r"app;dur=([0-9.]+)")
WRITE = {"X-API-Key": WRITE_KEY, "Content-Type": "application/geo+json"}

# a writable copy of the trees' shape, with a change counter kept by a trigger (the
# version_query the README asks for: without one, no ETag and no response cache)
SETUP = """
CREATE TABLE w_trees (
  fid serial PRIMARY KEY, species_scientific text, species_german text, genus text,
  planting_year integer, height_m double precision, crown_diameter_m double precision,
  trunk_circumference_cm double precision, district text, street text, last_update date,
  geom geometry(Point, 25832));
INSERT INTO w_trees (species_scientific, species_german, genus, planting_year, height_m,
  crown_diameter_m, trunk_circumference_cm, district, street, last_update, geom)
SELECT species_scientific, species_german, genus, planting_year, height_m, crown_diameter_m,
  trunk_circumference_cm, district, street, last_update, geom FROM trees ORDER BY fid LIMIT 20;
CREATE TABLE w_changes (n bigint NOT NULL);
INSERT INTO w_changes VALUES (0);
CREATE FUNCTION w_changed() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN UPDATE w_changes SET n = n + 1; RETURN NULL; END $$;
CREATE TRIGGER w_changed AFTER INSERT OR UPDATE OR DELETE ON w_trees
  FOR EACH STATEMENT EXECUTE FUNCTION w_changed();
"""


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _extra(db: PostGIS, flaky_port: int) -> dict[str, Any]:
    identity = {"id": "fid", "properties": {n: n for n in TREE_FIELDS}}
    flaky = {
        "source": {"connector": "postgis", **db.options("trees", port=flaky_port)},
        "resilience": {"breaker_failures": 2, "breaker_cooldown": 300},
    }
    limited = {
        "rate_limits": {"per_client": f"{PER_CLIENT}/hour"},  # an hour: no window edge in a run
        "access": {"api_keys": [{"id": "rl-app", "sha256": _sha(READ_KEY), "scopes": ["read"]}]},
        "collections": {
            "trees": {
                "profile": "street-trees",
                "source": {"connector": "postgis", **db.options("trees", pool_max_size=2)},
                "mapping": identity,
            }
        },
    }
    writable = {
        "connector": "postgis",
        **db.options("w_trees", pool_max_size=2),
        "writable": True,
        "version_query": "SELECT n FROM w_changes",
    }
    written = {
        "access": {
            "api_keys": [{"id": "tree-app", "sha256": _sha(WRITE_KEY), "scopes": ["write"]}]
        },
        "collections": {
            "trees": {"profile": "street-trees", "source": writable, "mapping": identity},
            # the same table without a version, its answers kept response_ttl seconds
            "cached": {
                "profile": "street-trees",
                "source": {k: v for k, v in writable.items() if k != "version_query"},
                "mapping": identity,
                "http_cache": {"response_ttl": 300},
            },
        },
    }
    return {
        "server": {"http_cache": {"version_ttl": VERSION_TTL}},
        "tenants": {"flaky": {"collections": {"x": flaky}}, "limited": limited, "w": written},
    }


async def _setup(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SETUP)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def flaky(postgis: PostGIS) -> Iterator[FaultProxy]:
    proxy = FaultProxy(postgis.port, postgis.host).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def cluster(
    shared: Shared, flaky: FaultProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    asyncio.run(_setup(shared.db.dsn))
    extra = _extra(shared.db, flaky.port)
    running = start_cluster(tmp_path_factory.mktemp("shared"), shared, extra=extra)
    try:
        yield running
    finally:
        running.stop()


def _wait_for(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_cluster_shares_its_state_in_redis_under_its_own_prefix(
    cluster: Cluster, redis_client: redis.Redis
) -> None:
    """Both instances say Redis is up, and an answer cached by one is a hit on the other."""
    for instance in cluster.instances:
        for _ in range(4):  # both workers of each
            ready = httpx.get(f"{instance.url}/ready", timeout=10).json()
            assert ready["shared_state"]["backend"] == "redis", ready
            assert ready["shared_state"]["status"] == "ok", ready
    # through HAProxy: one Host, so one cache key (an answer's links name the host it was
    # asked on, so each instance's own address keys its own answers)
    url = f"{cluster.url}{WRITTEN}?limit=3&bbox=-180,-90,180,90"  # a query no other test asks
    first = httpx.get(url, timeout=20)
    assert first.status_code == 200 and first.headers["x-cache"] == "miss", first.headers
    assert list(redis_client.scan_iter(f"{cluster.shared.redis_prefix}response:*"))
    second = httpx.get(url, timeout=20)
    assert second.headers["x-served-by"] != first.headers["x-served-by"]  # roundrobin
    assert second.headers.get("x-cache") == "hit", second.headers
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]


def test_a_circuit_opened_through_g1_is_open_on_g2_which_does_not_ask_the_source(
    cluster: Cluster, flaky: FaultProxy
) -> None:
    g1, g2 = cluster.instances
    assert httpx.get(f"{g2.url}{FLAKY}", timeout=20).status_code == 200  # fine so far
    flaky.set("reset", cut=True)  # every connection to the source now dies
    for _ in range(20):
        failed = httpx.get(f"{g1.url}{FLAKY}", timeout=20)
        assert failed.status_code in (502, 503, 504), failed.text
        if "circuit open" in failed.json()["description"]:
            break
    else:
        raise AssertionError("20 failures through g1 did not open the circuit")

    def open_everywhere(instance: Any) -> Any:
        seen: list[bool] = []

        def check() -> bool:  # eight answers in a row: both workers of the instance see it
            ready = httpx.get(f"{instance.url}/ready", timeout=10).json()
            seen.append("flaky/x" in ready["open_circuits"])
            return len(seen) >= 8 and all(seen[-8:])

        return check

    # HAProxy sends the probes below to g1 as well: every worker must have adopted the
    # circuit (at its next sync, breaker_sync 0.5 s, later on a loaded machine)
    _wait_for(open_everywhere(g2), 10, "g2's /ready never listed flaky/x as open")
    _wait_for(open_everywhere(g1), 10, "g1's /ready never listed flaky/x as open")
    time.sleep(0.5)
    asked = flaky.connections
    for base in (g2.url, g2.url, g2.url, g2.url, cluster.url, cluster.url):
        answer = httpx.get(f"{base}{FLAKY}", timeout=20)
        assert answer.status_code == 502, answer.text
        assert "circuit open" in answer.json()["description"], answer.text
        # at once: the server's own time (the client's wall clock includes a loaded
        # machine's scheduling, seconds at times)
        took = float(SERVER_TIME.search(answer.headers["server-timing"]).group(1))
        assert took < 250, f"{took} ms: an open circuit answers at once"
    assert flaky.connections == asked, "g2 asked the source behind an open circuit"
    for _ in range(2):  # still in the balancer: an open circuit is 'degraded', not down
        assert httpx.get(f"{cluster.url}/ready", timeout=10).status_code == 200
    assert cluster.proxy.states() == {"g1": "UP", "g2": "UP"}


def test_a_client_rate_limit_holds_across_instances_and_haproxy(cluster: Cluster) -> None:
    g1, g2 = cluster.instances
    key = {"X-API-Key": READ_KEY}
    bases = cycle((g1.url, g2.url, cluster.url))
    for n in range(PER_CLIENT):
        answer = httpx.get(f"{next(bases)}{LIMITED}", headers=key, timeout=20)
        assert answer.status_code == 200, f"request {n + 1}: {answer.text}"
    served = set()
    for base in (g1.url, g2.url, cluster.url, cluster.url):
        refused = httpx.get(f"{base}{LIMITED}", headers=key, timeout=20)
        assert refused.status_code == 429, f"{base}: {refused.status_code} {refused.text}"
        # at most the rest of this hour's window plus the share of the next one the
        # sliding estimate needs (gateway/ratelimit/windows.py): early in an hour, > 3600
        assert 1 <= int(refused.headers["retry-after"]) <= 3600 + 3600 / PER_CLIENT, refused
        assert refused.json()["code"] == "TooManyRequests"
        served.add(refused.headers.get("x-served-by", base))
    assert {"g1", "g2"} <= served, served  # HAProxy's two requests went one to each
    # the limit is the key's: another client (anonymous, by address) still gets answers
    assert httpx.get(f"{g2.url}{LIMITED}", timeout=20).status_code == 200


def _tree(**changes: Any) -> bytes:
    props: dict[str, Any] = {
        "species_scientific": "Tilia cordata",
        "species_german": "Winter-Linde",
        "genus": "Tilia",
        "planting_year": 1990,
        "height_m": 12.5,
        "crown_diameter_m": 8.5,
        "trunk_circumference_cm": 140,
        "district": "Altona",
        "street": None,
        "last_update": "2024-03-01",
    }
    props.update(changes)
    geometry = {"type": "Point", "coordinates": [9.95, 53.55]}
    return orjson.dumps({"type": "Feature", "geometry": geometry, "properties": props})


def _page(base: str) -> httpx.Response:
    page = httpx.get(f"{base}{WRITTEN}?limit=100", timeout=20)
    assert page.status_code == 200, page.text
    return page


def test_a_features_write_on_one_instance_is_read_on_the_other(cluster: Cluster) -> None:
    """POST on g1, read on g2 and through HAProxy; PUT with If-Match on g2, read on g1; a
    stale If-Match is 412 anywhere. Reads on every worker after `version_ttl` see the write:
    the shared response cache never serves the page or ETag from before it."""
    g1, g2 = cluster.instances
    old = _page(cluster.url)
    assert _page(cluster.url).headers.get("x-cache") == "hit"  # the old page is in Redis
    created = httpx.post(f"{g1.url}{WRITTEN}", content=_tree(), headers=WRITE, timeout=20)
    assert created.status_code == 201, created.text
    path, tag = urlsplit(created.headers["location"]).path, created.headers["etag"]
    fid = int(path.rsplit("/", 1)[1])
    time.sleep(VERSION_TTL + 0.2)
    for base in (g2.url, g2.url, g2.url, cluster.url, cluster.url):  # both workers, instances
        page = _page(base)
        assert fid in [f["id"] for f in page.json()["features"]], f"{base}: stale page"
        assert page.headers["etag"] != old.headers["etag"]
        item = httpx.get(f"{base}{path}", timeout=20)
        assert item.status_code == 200 and item.headers["etag"] == tag, (base, item.headers)
        assert item.json()["properties"]["height_m"] == 12.5

    replaced = _tree(height_m=14.0, genus="Acer", species_scientific="Acer platanoides")
    put = httpx.put(f"{g2.url}{path}", content=replaced, headers={**WRITE, "If-Match": tag})
    assert put.status_code == 204, put.text
    new_tag = put.headers["etag"]
    assert new_tag != tag
    time.sleep(VERSION_TTL + 0.2)
    for base in (g1.url, g1.url, g1.url, cluster.url, cluster.url):
        item = httpx.get(f"{base}{path}", timeout=20)
        assert item.headers["etag"] == new_tag, f"{base}: stale ETag {item.headers['etag']}"
        assert item.json()["properties"]["genus"] == "Acer"
        revalidated = httpx.get(f"{base}{path}", headers={"If-None-Match": tag}, timeout=20)
        assert revalidated.status_code == 200, "the old tag must not be 'not modified'"
        heights = {f["id"]: f["properties"]["height_m"] for f in _page(base).json()["features"]}
        assert heights[fid] == 14.0, f"{base}: stale page"
    stale = httpx.put(f"{g1.url}{path}", content=_tree(), headers={**WRITE, "If-Match": tag})
    assert stale.status_code == 412, stale.text
    assert httpx.get(f"{g2.url}{path}", timeout=20).json()["properties"]["genus"] == "Acer"


def _ids_on(base: str, host: str) -> tuple[list[int], str]:
    page = httpx.get(f"{base}{CACHED}?limit=100", headers={"Host": host}, timeout=20)
    assert page.status_code == 200, page.text
    return [f["id"] for f in page.json()["features"]], page.headers.get("x-cache", "")


def _create(base: str) -> int:
    created = httpx.post(f"{base}{CACHED}", content=_tree(), headers=WRITE, timeout=20)
    assert created.status_code == 201, created.text
    return int(urlsplit(created.headers["location"]).path.rsplit("/", 1)[1])


def test_a_process_reads_its_own_write_to_a_versionless_source_through_the_shared_cache(
    cluster: Cluster,
) -> None:
    """`cached` has no version_query and response_ttl 300: answers may be 300 s old, but the
    process that made a write keys its answers anew (README, 'Writing data': "A write makes
    this process ask … again at once (the response cache keys follow)"). The same Host on
    both instances gives both one cache key, as HAProxy does."""
    g1, g2 = cluster.instances
    host = "gateway.test"
    before, _ = _ids_on(g2.url, host)  # cached under 'no write through this process'
    first = _create(g1.url)  # one of g1's workers has now written once
    for _ in range(30):  # until g1's writer answers: it keys 'one write', misses, caches
        ids, _ = _ids_on(g1.url, host)
        if first in ids:
            break
    else:
        raise AssertionError("g1's writer never answered")
    assert first not in before
    second = _create(g2.url)  # one of g2's workers has now written once too
    answers = [_ids_on(g2.url, host) for _ in range(20)]  # both of g2's workers answer
    assert any(second in ids for ids, _ in answers), (
        f"none of 20 answers on g2 has the tree g2 just created ({second}); "
        f"cache: {[hit for _, hit in answers]}, "
        f"first tree (created on g1) in them: {sum(first in ids for ids, _ in answers)}"
    )


class FeatureWriters:
    """Clients creating trees through HAProxy until told to stop (as test_cluster.Writers
    does with Observations): the ids answered 201 with the street each one sent, and the
    writes the kill cut off (a 502, or a kept-alive connection closed without an answer)."""

    def __init__(self, url: str, count: int = 4) -> None:
        self.url = url
        self.acknowledged: dict[int, tuple[str, str]] = {}  # fid -> (street, served by)
        self.cut = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(count)]

    def run(self, n: int) -> None:
        with httpx.Client(base_url=self.url, headers=WRITE, timeout=20) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                street = f"writer {n} tree {i}"
                try:
                    response = client.post(WRITTEN, content=_tree(street=street))
                except httpx.RemoteProtocolError:
                    with self.lock:
                        self.cut += 1
                    continue
                except httpx.TransportError as e:  # HAProxy itself must never fail
                    self.errors.append(f"transport: {e!r}")
                    return
                with self.lock:
                    if response.status_code == 201:
                        fid = int(urlsplit(response.headers["location"]).path.rsplit("/")[-1])
                        self.acknowledged[fid] = (street, response.headers["x-served-by"])
                    elif response.status_code == 502:
                        self.cut += 1
                    else:
                        self.errors.append(f"{response.status_code}: {response.text[:200]}")

    def served_by(self, name: str) -> int:
        with self.lock:
            return sum(1 for _, g in self.acknowledged.values() if g == name)


async def _streets(dsn: str, fids: list[int]) -> dict[int, str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT fid, street FROM w_trees WHERE fid = ANY($1)", fids)
    finally:
        await conn.close()
    return {r["fid"]: r["street"] for r in rows}


def test_features_writes_through_haproxy_lose_nothing_acknowledged_when_g1_is_killed(
    cluster: Cluster,
) -> None:
    """Runs last: kills g1 (SIGKILL to supervisor and workers) and brings it back."""
    g1, g2 = cluster.instances
    writers = FeatureWriters(cluster.url)
    for thread in writers.threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while min(writers.served_by(g) for g in ("g1", "g2")) < 10:
            assert time.monotonic() < deadline, "too few writes before the kill"
            assert not writers.errors, writers.errors[0]
            time.sleep(0.05)
        g1.kill()
        took = cluster.proxy.wait_for("g1", "DOWN", within=10)
        after_down = len(writers.acknowledged)
        time.sleep(0.5)  # writes go on against the survivor alone
        assert len(writers.acknowledged) > after_down, "no write acknowledged after DOWN"
    finally:
        writers.stop.set()
        for thread in writers.threads:
            thread.join(timeout=30)
    try:
        assert not writers.errors, writers.errors[:3]
        assert writers.cut <= 2 * len(writers.threads), f"{writers.cut} writes cut off"
        assert took < 3, f"HAProxy took {took:.1f} s to take the dead instance out"
        stored = asyncio.run(_streets(cluster.shared.db.dsn, list(writers.acknowledged)))
        lost = {f for f, (street, _) in writers.acknowledged.items() if stored.get(f) != street}
        assert not lost, f"{len(lost)} of {len(writers.acknowledged)} acknowledged creates lost"
        by_g1 = [f for f, (_, g) in writers.acknowledged.items() if g == "g1"]
        for fid in by_g1[-3:]:  # the survivor serves what the dead instance acknowledged
            item = httpx.get(f"{g2.url}{WRITTEN}/{fid}", timeout=20)
            assert item.status_code == 200, item.text
    finally:
        g1.restart()
        cluster.proxy.wait_for("g1", "UP", within=20)
