"""Scale-out: two instances (two workers each) on one configuration behind HAProxy behave as
one gateway. A paging cursor from one instance is good on the other, /ready keeps degraded
instances in the balancer, and an instance killed with SIGKILL in the middle of a load of
SensorThings writes loses no acknowledged write while HAProxy takes it out.

The kill test runs last and brings the instance back, so the cluster stays whole."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.scaleout.cluster import KEY, STA, TENANT, Cluster
from tests.sensorthings.conftest import datastream, location, observed_property

# one worker runs the whole module (pytest -n … --dist loadgroup, as scripts/test.sh does):
# one cluster, not one per worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("scaleout")]
ITEMS = f"/{TENANT}/collections/trees/items"
AUTH = {"X-API-Key": KEY}
WRITERS = 4
ID = re.compile(r"Observations\((\d+)\)")


def _page(url: str, **params: object) -> httpx.Response:
    response = httpx.get(url, params=params or None, timeout=30)  # {} drops the URL's query
    assert response.status_code == 200, response.text
    return response


def _ids(response: httpx.Response) -> list[object]:
    return [f["id"] for f in response.json()["features"]]


def _cursor(response: httpx.Response) -> str:
    link = next(k["href"] for k in response.json()["links"] if k["rel"] == "next")
    return parse_qs(urlsplit(link).query)["cursor"][0]


def test_a_cursor_issued_by_one_instance_is_accepted_by_the_other(cluster: Cluster) -> None:
    g1, g2 = cluster.instances
    first = _page(f"{g1.url}{ITEMS}", limit=7)
    cursor = _cursor(first)
    on_g2 = _page(f"{g2.url}{ITEMS}", limit=7, cursor=cursor)
    on_g1 = _page(f"{g1.url}{ITEMS}", limit=7, cursor=cursor)
    assert _ids(on_g2) == _ids(on_g1), "the same cursor must continue at the same place"
    assert len(_ids(on_g2)) == 7 and not set(_ids(on_g2)) & set(_ids(first))
    # g2 does check signatures: acceptance above is the shared secret, not leniency
    body, signature = cursor.split(".")
    forged = f"{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    refused = httpx.get(f"{g2.url}{ITEMS}", params={"limit": 7, "cursor": forged}, timeout=30)
    assert refused.status_code == 400, refused.text


def test_next_links_walked_through_haproxy_continue_across_instances(cluster: Cluster) -> None:
    """Roundrobin sends consecutive pages to different instances; the walk through HAProxy
    returns what a walk on one instance returns, and the links point at HAProxy."""
    direct: list[object] = []
    link: str | None = f"{cluster.instances[0].url}{ITEMS}?limit=50"
    for _ in range(6):
        response = _page(link)
        direct += _ids(response)
        link = next(k["href"] for k in response.json()["links"] if k["rel"] == "next")
    walked: list[object] = []
    served: Counter[str] = Counter()
    link = f"{cluster.url}{ITEMS}?limit=50"
    for _ in range(6):
        response = _page(link)
        served[response.headers["x-served-by"]] += 1
        walked += _ids(response)
        link = next(k["href"] for k in response.json()["links"] if k["rel"] == "next")
        assert link.startswith(f"{cluster.url}/"), link
    assert set(served) == {"g1", "g2"}, served
    assert walked == direct and len(set(walked)) == 300


def test_ready_answers_through_haproxy_and_degraded_keeps_instances_in(cluster: Cluster) -> None:
    """The configuration has a city that is down: /ready says 'degraded' with 200, so the
    health check keeps every instance in (a city's outage must not empty the balancer)."""
    for _ in range(2):  # both instances, roundrobin
        response = httpx.get(f"{cluster.url}/ready", timeout=10)
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["status"] == "degraded", doc
        assert [f["source"] for f in doc["failed"]] == ["down/x"], doc
    time.sleep(1)  # five check intervals: a failing check would have taken them out by now
    assert cluster.proxy.states() == {"g1": "UP", "g2": "UP"}


class Writers:
    """Clients posting Observations through HAProxy until told to stop; they keep the ids
    answered 201 and which instance answered, and count the writes the kill cut off (HAProxy
    answers 502 for a request in flight on the dead instance, or closes a kept-alive client
    connection without an answer)."""

    def __init__(self, url: str, datastream_id: int) -> None:
        self.url, self.stream = url, {"@iot.id": datastream_id}
        self.acknowledged: dict[int, str] = {}
        self.cut: list[float] = []  # when each 502 came
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(WRITERS)]

    def run(self, n: int) -> None:
        with httpx.Client(base_url=f"{self.url}{STA}", headers=AUTH, timeout=20) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                body = {"result": i, "Datastream": self.stream, "parameters": {"writer": n}}
                try:
                    response = client.post("/Observations", json=body)
                except httpx.RemoteProtocolError:
                    # on a kept-alive connection HAProxy answers a request cut off by the
                    # instance's death with a silent close, as an idle server would
                    with self.lock:
                        self.cut.append(time.monotonic())
                    continue
                except httpx.TransportError as e:  # HAProxy itself must never fail
                    self.errors.append(f"transport: {e!r}")
                    return
                with self.lock:
                    found = ID.search(response.headers.get("location", ""))
                    if response.status_code == 201 and found:
                        self.acknowledged[int(found.group(1))] = response.headers["x-served-by"]
                    elif response.status_code == 502:
                        self.cut.append(time.monotonic())
                    else:
                        self.errors.append(f"{response.status_code}: {response.text[:200]}")

    def served_by(self) -> Counter[str]:
        with self.lock:
            return Counter(self.acknowledged.values())


def _observation_ids(url: str, datastream_id: int) -> set[int]:
    found: set[int] = set()
    link: str | None = f"{url}{STA}/Datastreams({datastream_id})/Observations?$select=id&$top=5000"
    while link:
        doc = httpx.get(link, timeout=30).json()
        found.update(o["@iot.id"] for o in doc["value"])
        link = doc.get("@iot.nextLink")
    return found


def test_an_instance_killed_under_writes_loses_no_acknowledged_write(cluster: Cluster) -> None:
    g1, g2 = cluster.instances
    thing = {
        "name": "scale-out",
        "description": "written to while one instance is killed",
        "Locations": [location(1)],
        "Datastreams": [datastream(1, observed_property(1))],
    }
    created = httpx.post(f"{cluster.url}{STA}/Things", json=thing, headers=AUTH, timeout=20)
    assert created.status_code == 201, created.text
    streams = httpx.get(f"{created.headers['location']}/Datastreams", timeout=20).json()
    writers = Writers(cluster.url, streams["value"][0]["@iot.id"])
    for thread in writers.threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while min(writers.served_by()[g] for g in ("g1", "g2")) < 20:
            assert time.monotonic() < deadline, f"too few writes: {writers.served_by()}"
            assert not writers.errors, writers.errors[0]
            time.sleep(0.05)
        killed_at = time.monotonic()
        g1.kill()
        took = cluster.proxy.wait_for("g1", "DOWN", within=10)
        time.sleep(0.5)  # writes go on against the survivor alone
    finally:
        writers.stop.set()
        for thread in writers.threads:
            thread.join(timeout=30)
    try:
        assert not writers.errors, writers.errors[:3]
        # only requests in flight on g1 at the kill are cut: connection failures after it
        # are retried on g2 (retry-on conn-failure, option redispatch)
        assert len(writers.cut) <= 2 * WRITERS, f"{len(writers.cut)} writes answered 502"
        assert all(t < killed_at + took + 0.5 for t in writers.cut), "cut after DOWN"
        assert took < 3, f"HAProxy took {took:.1f} s to take the dead instance out"
        # later requests all succeed, on the survivor
        for i in range(20):
            body = {"result": -i, "Datastream": writers.stream}
            later = httpx.post(f"{cluster.url}{STA}/Observations", json=body, headers=AUTH)
            assert later.status_code == 201 and later.headers["x-served-by"] == "g2", later.text
            writers.acknowledged[int(ID.search(later.headers["location"]).group(1))] = "g2"
            read = httpx.get(f"{cluster.url}{ITEMS}", params={"limit": 1}, timeout=20)
            assert read.status_code == 200 and read.headers["x-served-by"] == "g2"
        by_g1 = {i for i, g in writers.acknowledged.items() if g == "g1"}
        stored = _observation_ids(g2.url, writers.stream["@iot.id"])
        lost = set(writers.acknowledged) - stored
        assert not lost, f"{len(lost)} of {len(writers.acknowledged)} acknowledged writes lost"
        assert by_g1 <= stored and len(by_g1) >= 20
    finally:
        g1.restart()
        cluster.proxy.wait_for("g1", "UP", within=20)
