"""The SensorThings suite against the fake STA server: correct by default, then broken in
one way per test; and it skips cleanly on a root that is not SensorThings."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.model import Status
from conformance.sensorthings.names import TYPES
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite
from tests.conformance.fake_sta import make_app
from tests.conftest import free_port, require_command

ROOT = "http://fake/v1.1"


def run_sta(lt: LoopThread, app: Any, **options: Any):
    return run_suite(lt, app, ROOT, suites=("sensorthings",), **options)


def test_a_correct_server_passes_everything_including_writes(loop_thread: LoopThread):
    report = run_sta(loop_thread, make_app(), allow_writes=True)
    assert flagged(report) == set(), explain(report)
    assert report.summary()["pass"] >= 100
    skipped = {r.check for r in report.results if r.status is Status.SKIP}
    assert skipped == {"sta/mqtt-receive", "sta/mqtt-create"}


def test_writes_are_skipped_without_allow_writes(loop_thread: LoopThread):
    report = run_sta(loop_thread, make_app())
    writes = [
        r for r in report.results if r.check.startswith(("sta/create", "sta/delete", "sta/update"))
    ]
    assert writes and all(r.status is Status.SKIP and "--allow-writes" in r.message for r in writes)
    assert make_app().state.fake.next_id == 1000  # nothing was created


def test_a_features_root_is_skipped_with_the_reason(loop_thread: LoopThread, demo_app: Any):
    report = run_suite(loop_thread, demo_app, "http://testserver/", suites=("sensorthings",))
    assert {r.status for r in report.results} == {Status.SKIP}
    assert all("not a SensorThings service root" in r.message for r in report.results)


def _null_next_link(doc: Any, scope: B.Scope) -> Any:
    if isinstance(doc, dict) and "value" in doc and "@iot.nextLink" not in doc:
        doc["@iot.nextLink"] = None
    return doc


def _relative_self_links(doc: Any, scope: B.Scope) -> Any:
    for e in doc.get("value", []) if isinstance(doc, dict) else []:
        if isinstance(e, dict) and "@iot.selfLink" in e:
            e["@iot.selfLink"] = e["@iot.selfLink"].split("/v1.1/", 1)[1]
    return doc


def _drop_navigation(rel: str) -> Callable[[Any, B.Scope], Any]:
    def mutate(doc: Any, scope: B.Scope) -> Any:
        for e in doc.get("value", []) if isinstance(doc, dict) else []:
            e.pop(f"{rel}@iot.navigationLink", None)
        return doc

    return mutate


def _count_plus_one(doc: Any, scope: B.Scope) -> Any:
    unfiltered = "filter" not in scope.get("query_string", b"").decode()
    if isinstance(doc, dict) and "@iot.count" in doc and unfiltered:
        doc["@iot.count"] += 1
    return doc


def _ignore_operator(params: dict[str, str]) -> dict[str, str]:
    if "$filter" in params:  # "le" read as "lt"
        params["$filter"] = re.sub(r"\ble\b", "lt", params["$filter"])
    return params


def _skip_ignored(params: dict[str, str]) -> dict[str, str]:
    if "$skip" in params and "$top" in params and "$filter" not in params:
        params.pop("$skip")
    return params


def _select_everything(doc: Any, scope: B.Scope) -> Any:
    if "select" in scope.get("query_string", b"").decode():
        for e in doc.get("value", []):
            e["description"] = "not selected"
    return doc


def _patch_answers_204(app: Any) -> Any:
    return B.fail_successes(app, B.on_path(r"/Things\(\d+\)$", "PATCH"), 204)


def _invent_sensor(doc: Any, scope: B.Scope) -> Any:
    """A server that makes up the Sensor a Datastream lacks instead of refusing it."""
    sensor = {"name": "made up", "description": "-", "encodingType": "text/plain", "metadata": "-"}
    return {**doc, "Sensor": doc.get("Sensor", sensor)}


def _not_atomic(app: Any) -> Any:
    """A server that creates the valid part of an invalid deep insert, then answers 400."""

    async def wrapped(scope: B.Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not B.on_path(r"/Things$", "POST")(scope):
            await app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        doc = json.loads(body)
        broken = any("Sensor" not in d for d in doc.get("Datastreams", []))
        if broken:
            doc = {k: v for k, v in doc.items() if k != "Datastreams"}
        pending = [{"type": "http.request", "body": json.dumps(doc).encode(), "more_body": False}]

        async def replay() -> dict[str, Any]:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def answer(message: dict[str, Any]) -> None:
            if broken and message["type"] == "http.response.start":
                message = {**message, "status": 400}
            await send(message)

        await app(scope, replay, answer)

    return wrapped


def _get(pattern: str) -> B.Match:
    return B.on_path(pattern, "GET")


def _top_one_ignored(params: dict[str, str]) -> dict[str, str]:
    if params.get("$top") == "1" and "$skip" not in params:
        params["$top"] = "2"
    return params


def _desc_ignored(params: dict[str, str]) -> dict[str, str]:
    if params.get("$orderby", "").endswith(" desc"):
        params["$orderby"] = params["$orderby"][: -len(" desc")]
    return params


def _rename_in_body(doc: Any, scope: B.Scope) -> Any:
    if (
        isinstance(doc, dict)
        and "Locations" not in doc
        and str(doc.get("name", "")).startswith("plain")
    ):
        doc["name"] += " (renamed)"
    return doc


def _drop(key: str) -> Callable[[Any, B.Scope], Any]:
    return lambda doc, scope: {k: v for k, v in doc.items() if k != key}


def _extra_key(doc: Any, scope: B.Scope) -> Any:
    return {**doc, "extra": 1}


def _ref_extra(doc: Any, scope: B.Scope) -> Any:
    for e in doc.get("value", [doc]):
        e["@iot.id"] = 1
    return doc


LAST_PROPERTY = {t.set: t.properties[-1] for t in TYPES}
LAST_RELATION = {t.set: t.relations[-1] for t in TYPES}


def _without_property(set_name: str) -> Callable[[Any, B.Scope], Any]:
    def mutate(doc: Any, scope: B.Scope) -> Any:
        for e in doc.get("value", []):
            e.pop(LAST_PROPERTY[set_name], None)
        return doc

    return mutate


def _plain(set_name: str) -> B.Match:
    """GET of the entity set itself without query options."""
    return lambda s: (
        s["method"] == "GET" and s["path"] == f"/v1.1/{set_name}" and not s["query_string"]
    )


CASES: list[tuple[str, Callable[[Any], Any], set[str]]] = [
    (
        "@iot.nextLink null on the last page",
        lambda a: B.rewrite_json(a, B.on_path(r"/v1\.1/\w+$"), _null_next_link),
        {"sta/pagination"},
    ),
    (
        "relative @iot.selfLink",
        lambda a: B.rewrite_json(a, B.on_path(r"/v1\.1/Things$"), _relative_self_links),
        {"sta/control-information"},
    ),
    (
        "Datastreams lose their Sensor navigation link",
        lambda a: B.rewrite_json(a, B.on_path(r"/v1\.1/Datastreams$"), _drop_navigation("Sensor")),
        {"sta/datastream/relations"},
    ),
    (
        "@iot.count one too high",
        lambda a: B.rewrite_json(a, B.on_path(r"/v1\.1/\w+$"), _count_plus_one),
        {"sta/count"},
    ),
    (
        "filter reads le as lt",
        lambda a: B.rewrite_query(a, B.on_path(r"/Observations$"), _ignore_operator),
        {"sta/filter-operations"},
    ),
    (
        "$skip ignored",
        lambda a: B.rewrite_query(a, B.on_path(r"/v1\.1/\w+$"), _skip_ignored),
        {"sta/skip"},
    ),
    (
        "$select ignored for description",
        lambda a: B.rewrite_json(a, B.on_path(r"/v1\.1/Things$"), _select_everything),
        {"sta/select"},
    ),
    (
        "unknown entity answers 200",
        lambda a: B.set_status(a, B.on_path(r"\(9223372036854775807\)$", "GET"), 200),
        {"sta/read-entity"},
    ),
    ("PATCH answers 204", _patch_answers_204, {"sta/update-entity"}),
    (
        "Things lose their description",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"/v1\.1/Things$", "GET"),
            lambda d, s: {
                **d,
                "value": [{k: v for k, v in e.items() if k != "description"} for e in d["value"]],
            },
        ),
        {"sta/thing/properties"},
    ),
    (
        "root lists no Sensors",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/v1\.1/?$"),
            lambda d, s: {**d, "value": [v for v in d["value"] if v["name"] != "Sensors"]},
        ),
        {"sta/service-root"},
    ),
    (
        "property path answers with an extra key",
        lambda a: B.rewrite_json(a, _get(r"/Things\(\d+\)/name$"), _extra_key),
        {"sta/property"},
    ),
    (
        "$ref entries carry more than @iot.selfLink",
        lambda a: B.rewrite_json(a, _get(r"/\$ref$"), _ref_extra),
        {"sta/navigation", "sta/navigation-paths"},  # both read $ref, one and two levels down
    ),
    (
        "$top=1 answered with two",
        lambda a: B.rewrite_query(a, _get(r"/Observations$"), _top_one_ignored),
        {"sta/top"},
    ),
    (
        "$orderby desc sorted ascending",
        lambda a: B.rewrite_query(a, _get(r"/v1\.1/\w+$"), _desc_ignored),
        {"sta/orderby"},
    ),
    (
        "$expand ignored",
        lambda a: B.rewrite_query(
            a, _get(r"/v1\.1/\w+$"), lambda p: {k: v for k, v in p.items() if k != "$expand"}
        ),
        {"sta/expand"},
    ),
    (
        "ne read as eq on Things",
        lambda a: B.rewrite_query(
            a,
            _get(r"/Things$"),
            lambda p: (
                {**p, "$filter": p["$filter"].replace(" ne ", " eq ")} if "$filter" in p else p
            ),
        ),
        {"sta/filter"},
    ),
    (
        "startswith ignored",
        lambda a: B.rewrite_query(
            a,
            _get(r"/Things$"),
            lambda p: {k: v for k, v in p.items() if not (k == "$filter" and "startswith" in v)},
        ),
        {"sta/functions"},
    ),
    (
        "$skip applied before $filter",
        lambda a: B.rewrite_query(
            a,
            _get(r"/Observations$"),
            lambda p: {k: v for k, v in p.items() if not (k == "$skip" and "$filter" in p)},
        ),
        {"sta/query-order"},
    ),
    (
        "created Thing stored under another name",
        lambda a: B.rewrite_request_json(a, B.on_path(r"/Things$", "POST"), _rename_in_body),
        {"sta/create-entity"},
    ),
    (
        "inline Datastreams ignored",
        lambda a: B.rewrite_request_json(a, B.on_path(r"/Things$", "POST"), _drop("Datastreams")),
        # the invalid inline Datastream is ignored too: its Thing is created
        {"sta/deep-insert", "sta/deep-insert-invalid"},
    ),
    (
        "no HistoricalLocation for a new Thing",
        lambda a: B.rewrite_json(
            a, _get(r"/Things\(\d{4,}\)/HistoricalLocations$"), lambda d, s: {**d, "value": []}
        ),
        {"sta/historical-location"},
    ),
    (
        "Observation link to its Datastream ignored",
        lambda a: B.rewrite_request_json(
            a, B.on_path(r"/Observations$", "POST"), _drop("Datastream")
        ),
        {"sta/link-to-existing"},
    ),
    (
        "DELETE answers 200 and deletes nothing",
        lambda a: B.answer(a, B.on_path(r"\(\d+\)$", "DELETE"), 200),
        {"sta/delete-entity", "sta/delete-nonexistent"},  # an unknown entity too
    ),
    (
        "DELETE of an unknown entity answers 200",
        lambda a: B.answer(a, B.on_path(r"\(9223372036854775807\)$", "DELETE"), 200),
        {"sta/delete-nonexistent"},
    ),
    (
        "paths three segments deep answer 404",
        lambda a: B.answer(a, _get(r"/v1\.1/\w+\(\d+\)/\w+(\(\d+\))?/\w+(/\$ref)?$"), 404),
        {"sta/navigation-paths"},
    ),
    (
        "a Datastream without Sensor is created",
        lambda a: B.rewrite_request_json(a, B.on_path(r"/Datastreams$", "POST"), _invent_sensor),
        {"sta/create-invalid"},
    ),
    ("an invalid deep insert leaves its Thing behind", _not_atomic, {"sta/deep-insert-invalid"}),
    (
        "PATCH with a new inline Location accepted",
        lambda a: B.rewrite_request_json(
            a, B.on_path(r"/Things\(\d+\)$", "PATCH"), _drop("Locations")
        ),
        {"sta/update-invalid"},
    ),
]

TYPE_CASES = [
    (f"{t.set} without {LAST_PROPERTY[t.set]}", t.set, f"sta/{t.slug}/properties") for t in TYPES
] + [
    (f"{t.set} without {LAST_RELATION[t.set]}@iot.navigationLink", t.set, f"sta/{t.slug}/relations")
    for t in TYPES
]


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_suite_flags_exactly_the_broken_requirement(
    loop_thread: LoopThread, name: str, breaker, expected
):
    report = run_sta(loop_thread, breaker(make_app()), allow_writes=True)
    assert flagged(report) == expected, f"{name}:\n{explain(report)}"


@pytest.mark.parametrize(
    ("name", "set_name", "expected"), TYPE_CASES, ids=[c[0] for c in TYPE_CASES]
)
def test_each_entity_type_rule_can_fail(
    loop_thread: LoopThread, name: str, set_name: str, expected: str
):
    if expected.endswith("/properties"):
        mutate = _without_property(set_name)
    else:
        relation = LAST_RELATION[set_name]
        mutate = _drop_navigation(relation)
    report = run_sta(loop_thread, B.rewrite_json(make_app(), _plain(set_name), mutate))
    assert flagged(report) == {expected}, f"{name}:\n{explain(report)}"


@pytest.fixture
def mosquitto() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [require_command("mosquitto"), "-p", str(port)], stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    yield port
    proc.terminate()
    proc.wait(timeout=5)


@pytest.mark.integration
def test_mqtt_checks_against_a_real_broker(loop_thread: LoopThread, mosquitto: int):
    app = make_app(mqtt=("127.0.0.1", mosquitto))
    lifespan = app.router.lifespan_context(app)
    loop_thread.run(lifespan.__aenter__())
    try:
        ok = run_sta(loop_thread, app, allow_writes=True, mqtt=f"127.0.0.1:{mosquitto}")
        assert flagged(ok) == set(), explain(ok)
        assert {r.check for r in ok.results if r.status is Status.PASS} >= {
            "sta/mqtt-receive",
            "sta/mqtt-create",
        }
        app.state.fake.publishing = False  # the server stops telling subscribers
        broken = run_sta(loop_thread, app, allow_writes=True, mqtt=f"127.0.0.1:{mosquitto}")
        assert "sta/mqtt-receive" in flagged(broken), json.dumps(
            [r.message for r in broken.results][:3]
        )
    finally:
        loop_thread.run(lifespan.__aexit__(None, None, None))


async def _synced(app: Any, root: str, timeout: float = 90.0) -> None:
    """Wait for a tenant synchronised from an NGSI broker to hold its first observations."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            page = (await client.get(f"{root}/Observations?$top=1")).json()
            if page.get("value"):
                return
            await asyncio.sleep(0.5)
    raise AssertionError(f"{root} synchronised nothing within {timeout} s")


@pytest.mark.parametrize(
    "root", ["/sta/v1.1", "/hamburg/sta/v1.1", "/rotterdam/sta/v1.1", "/aarhus/sta/v1.1"]
)
def test_demo_sensorthings_passes_every_check_it_runs(
    loop_thread: LoopThread, demo_app: Any, root: str
):
    """The gateway's own SensorThings facade (read only: the demo declares no writes),
    Rotterdam's and Aarhus' filled from their NGSI brokers."""
    if root.startswith(("/rotterdam", "/aarhus")):
        loop_thread.run(_synced(demo_app, root))
    report = run_suite(loop_thread, demo_app, f"http://testserver{root}", suites=("sensorthings",))
    assert flagged(report) == set(), explain(report)
    assert report.summary()["pass"] > 90
