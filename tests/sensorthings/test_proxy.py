"""The upstream STA proxy against a second TwinBridge started by the test, and the federated
root `/sta/v1.1/` over an embedded tenant, the proxied one and one whose upstream is down."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from tests.conftest import free_port, start_gateway
from tests.sensorthings.conftest import AUTH, KEY, populate_ets

pytestmark = pytest.mark.integration
UP = "/up/sta/v1.1"


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second TwinBridge (a real `twinbridge serve`) with OGC's level-3 fixture."""
    folder = tmp_path_factory.mktemp("origin")
    env = f"TB_ORIGIN_KEY_{uuid.uuid4().hex[:8]}"
    config = {
        "tenants": {
            "origin": {
                "sensorthings": {"store": {"path": str(folder / "o.sqlite")}, "api_key_env": env}
            }
        }
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    proc, url = start_gateway({env: KEY}, "--config", str(folder / "config.yaml"))
    try:
        with httpx.Client(base_url=url) as client:
            populate_ets(client, "/origin/sta/v1.1")  # type: ignore[arg-type]
        yield f"{url}/origin/sta/v1.1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def gateway(origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("gateway")
    env = f"TB_LOCAL_KEY_{uuid.uuid4().hex[:8]}"
    os.environ[env] = KEY
    tenants = {
        "up": {"sensorthings": {"upstream": {"url": origin}, "resilience": {"timeout": 5}}},
        "local": {
            "sensorthings": {"store": {"path": str(folder / "local.sqlite")}, "api_key_env": env}
        },
        "zdown": {
            "sensorthings": {
                "upstream": {"url": f"http://127.0.0.1:{free_port()}/sta/v1.1"},
                "resilience": {"timeout": 2},
            }
        },
    }
    with TestClient(create_app(parse_config({"tenants": tenants}, "test", folder))) as client:
        client.post(
            "/local/sta/v1.1/Things",
            json={"name": "local thing", "description": "here"},
            headers=AUTH,
        )
        yield client
    os.environ.pop(env, None)


def get(client: TestClient, url: str) -> dict:
    r = client.get(url)
    assert r.status_code == 200, (url, r.text)
    return r.json()


def test_lists_counts_and_rewritten_links(gateway):
    doc = get(gateway, f"{UP}/Things?$count=true&$expand=Datastreams($top=1;$count=true)")
    assert doc["@iot.count"] == 2
    thing = doc["value"][0]
    assert thing["@iot.selfLink"] == f"http://testserver{UP}/Things({thing['@iot.id']})"
    assert thing["Locations@iot.navigationLink"] == f"{thing['@iot.selfLink']}/Locations"
    assert thing["Datastreams@iot.count"] == 2
    assert "Datastreams@iot.nextLink" not in thing  # the expanded `$top` is a limit, met
    doc = get(gateway, f"{UP}/Things?$top=1&$expand=Datastreams($top=1)")
    more = get(gateway, doc["@iot.nextLink"])
    assert doc["@iot.nextLink"].split("?")[1].startswith("$top=1&$skip=1&")
    assert len(more["value"]) == 1 and more["value"][0]["@iot.selfLink"].startswith(
        f"http://testserver{UP}/"
    )


def test_the_combined_query_goes_upstream_re_serialised(gateway):
    q = "$count=true&$top=1&$skip=2&$orderby=phenomenonTime asc&$filter=result gt '3'"
    doc = get(gateway, f"{UP}/Observations?{q}")
    assert doc["@iot.count"] == 6 and [o["result"] for o in doc["value"]] == [6]


def test_following_next_links_to_the_end(gateway):
    seen, url = [], f"{UP}/Observations?$top=5&$orderby=result desc"
    while url:
        assert url.startswith("http://testserver/up/") or url.startswith("/up/")
        page = get(gateway, url)
        seen += [o["result"] for o in page["value"]]
        url = page.get("@iot.nextLink")
    assert seen == list(range(12, 0, -1))


def test_paths_properties_values_and_refs(gateway):
    thing = get(gateway, f"{UP}/Things?$filter=name eq 'thing 2'")["value"][0]["@iot.id"]
    deep = get(gateway, f"{UP}/Things({thing})/Datastreams?$expand=Sensor&$orderby=name")["value"]
    assert [d["Sensor"]["name"] for d in deep] == ["sensor 3", "sensor 4"]
    assert gateway.get(f"{UP}/Things({thing})/name/$value").text == "thing 2"
    assert get(gateway, f"{UP}/Things({thing})/$ref") == {
        "@iot.selfLink": f"http://testserver{UP}/Things({thing})"
    }


def test_bad_queries_are_ours_unknown_ids_theirs_and_writes_refused(gateway):
    r = gateway.get(f"{UP}/Things?$filter=" + quote("name eq"))
    assert r.status_code == 400 and "position" in r.json()["message"]
    assert gateway.get(f"{UP}/Things?$filter=nosuch eq 1").status_code == 400
    assert gateway.get(f"{UP}/Things(999999)").status_code == 404
    r = gateway.post(f"{UP}/Things", json={"name": "x", "description": "y"}, headers=AUTH)
    assert r.status_code == 403 and r.json()["type"] == "error"
    assert "create-update-delete" not in str(get(gateway, f"{UP}/")["serverSettings"])


def test_string_ids_reach_the_upstream_as_one_percent_encoded_id(gateway):
    """An id holding '/', '#', '?' or a control character stays one id of one path: it went
    into the upstream URL as it was, so `Things('/../Datastreams#')` answered the upstream's
    Datastreams, `?` started a query, and a NUL made httpx refuse the URL (a 502 counted
    against the upstream)."""
    guard = gateway.app.state.sensorthings.guarded["up"].guard
    for key in ("/../Datastreams#", "/../../../../origin/sta/v1.1/Sensors", "x?$top=1", "a\x00b"):
        r = gateway.get(f"{UP}/Things('{quote(key, safe='')}')")
        assert r.status_code == 404, (key, r.text)
        assert guard.breaker._failures == 0


def test_a_query_too_long_to_pass_on_is_a_400_not_a_failure_of_the_upstream(
    origin: str, tmp_path: Path
):
    """Re-serialised (`+` becomes `%20`), a query can outgrow what the client sent and what
    the upstream takes; it is refused before it is sent, and counts for nothing."""
    upstream = {"url": origin, "max_url_length": 400}
    data = {"tenants": {"short": {"sensorthings": {"upstream": upstream}}}}
    with TestClient(create_app(parse_config(data, "test", tmp_path))) as client:
        assert client.get("/short/sta/v1.1/Things?$filter=name+eq+'thing+1'").status_code == 200
        r = client.get("/short/sta/v1.1/Things?$filter=name+eq+'" + "+" * 300 + "'")
        assert r.status_code == 400 and "too long to pass on" in r.json()["message"]
        assert client.app.state.sensorthings.guarded["short"].guard.breaker._failures == 0


def test_an_upstream_that_is_down_is_a_502_naming_the_source(gateway):
    r = gateway.get("/zdown/sta/v1.1/Things")
    assert r.status_code == 502
    assert r.json() == {
        "type": "error",
        "code": 502,
        "message": r.json()["message"],
        "requestId": r.headers["x-request-id"],
    }
    assert "zdown/sta" in r.json()["message"]


FED = "/sta/v1.1"


def test_the_federated_root_namespaces_ids_and_counts_every_tenant(gateway):
    doc = get(gateway, f"{FED}/Things?$count=true")
    assert doc["@iot.count"] == 3
    assert doc["@twinbridge.failedSources"][0]["source"] == "zdown/sta"
    ids = [t["@iot.id"] for t in doc["value"]]
    assert ids[0] == "local:1" and all(i.split(":")[0] in ("local", "up") for i in ids)
    up_thing = next(t for t in doc["value"] if t["@iot.id"].startswith("up:"))
    assert up_thing["@iot.selfLink"] == f"http://testserver{FED}/Things('{up_thing['@iot.id']}')"
    datastreams = get(gateway, up_thing["Datastreams@iot.navigationLink"])["value"]
    assert len(datastreams) == 2 and all(d["@iot.id"].startswith("up:") for d in datastreams)
    assert get(gateway, f"{FED}/")["value"][0]["url"] == f"http://testserver{FED}/Things"


def test_federated_paging_visits_every_entity_once_across_tenants(gateway):
    seen, url = [], f"{FED}/Observations?$top=5"
    while url:
        page = get(gateway, url)
        seen += [o["@iot.id"] for o in page["value"]]
        url = page.get("@iot.nextLink")
    assert len(seen) == len(set(seen)) == 12
    things, url = [], f"{FED}/Things?$top=1&$skip=1"
    while url:
        page = get(gateway, url)
        things += [t["@iot.id"] for t in page["value"]]
        url = page.get("@iot.nextLink")
    assert len(things) == 2 and all(t.startswith("up:") for t in things)


@pytest.mark.parametrize("state", ['{"i":-100,"c":{}}', '{"i":-1,"c":{}}', '{"i":true,"c":{}}'])
def test_a_forged_federated_skiptoken_is_a_400(gateway, state: str):
    """The token is the client's to send back: a negative position counted from the end of
    the tenants (beyond it, an IndexError and a 500)."""
    token = "fed." + base64.urlsafe_b64encode(state.encode()).decode().rstrip("=")
    r = gateway.get(f"{FED}/Things?$skiptoken={token}")
    assert r.status_code == 400 and "$skiptoken" in r.json()["message"]


def test_federated_filters_on_namespaced_ids_and_merged_order(gateway):
    one = get(gateway, f"{FED}/Things?$filter=" + quote("id eq 'local:1'"))["value"]
    assert [t["name"] for t in one] == ["local thing"]
    assert get(gateway, f"{FED}/Things?$filter=" + quote("id eq 'nowhere:1'"))["value"] == []
    assert gateway.get(f"{FED}/Things?$filter=id eq 1").status_code == 400
    ordered = get(gateway, f"{FED}/Things?$orderby=name desc&$select=name")["value"]
    assert [t["name"] for t in ordered] == ["thing 2", "thing 1", "local thing"]
    paged = get(gateway, f"{FED}/Things?$orderby=name asc&$top=2")
    assert [t["name"] for t in paged["value"]] == ["local thing", "thing 1"]
    assert [t["name"] for t in get(gateway, paged["@iot.nextLink"])["value"]] == ["thing 2"]
    assert gateway.get(f"{FED}/Things('local:1')").json()["name"] == "local thing"
    assert gateway.get(f"{FED}/Things(1)").status_code == 404
    assert (
        gateway.post(
            f"{FED}/Things", json={"name": "x", "description": "y"}, headers=AUTH
        ).status_code
        == 403
    )


def test_partial_fail_turns_a_failing_tenant_into_a_502(tmp_path: Path):
    tenants = {
        "zdown": {
            "sensorthings": {
                "upstream": {"url": f"http://127.0.0.1:{free_port()}/v1.1"},
                "resilience": {"timeout": 1},
            }
        }
    }
    loaded = parse_config(
        {"server": {"federation": {"partial": "fail"}}, "tenants": tenants}, "test", tmp_path
    )
    with TestClient(create_app(loaded)) as client:
        assert client.get(f"{FED}/Things").status_code == 502


def test_a_frost_upstream_gets_the_re_serialised_query_and_keeps_its_skip_filter(tmp_path: Path):
    import respx

    frost = "https://frost.example/FROST-Server/v1.1"
    page = {
        "@iot.count": 5,
        "@iot.nextLink": f"{frost}/Datastreams?$top=2&$skipFilter=(@iot.id%20gt%202)&$count=true",
        "value": [
            {
                "@iot.id": 1,
                "@iot.selfLink": f"{frost}/Datastreams(1)",
                "name": "ds",
                "properties": {"homepage": "https://elsewhere.example/x", "@iot.id": "kept"},
                "Thing@iot.navigationLink": f"{frost}/Datastreams(1)/Thing",
                "Sensor@iot.navigationLink": "https://evil.example/steal",
            }
        ],
    }
    tenants = {"hh": {"sensorthings": {"upstream": {"url": frost}}}}
    with (
        respx.mock() as mock,
        TestClient(create_app(parse_config({"tenants": tenants}, "t", tmp_path))) as client,
    ):
        route = mock.get(url__startswith=f"{frost}/Datastreams").respond(json=page)
        q = (
            "$filter="
            + quote("properties/layerName eq 'Status_E-Ladepunkt' and not (result lt 3)")
            + "&$count=true&$top=2"
        )
        r = client.get(f"/hh/sta/v1.1/Datastreams?{q}")
        assert (
            r.status_code == 400
        )  # `result` is no Datastream property: caught before going upstream
        assert not route.called
        q = (
            "$filter="
            + quote("properties/layerName eq 'Status_E-Ladepunkt'")
            + "&$count=true&$top=2"
        )
        doc = client.get(f"/hh/sta/v1.1/Datastreams?{q}").json()
        sent = route.calls.last.request.url
        assert sent.params["$filter"] == "properties/layerName eq 'Status_E-Ladepunkt'"
        assert sent.params["$top"] == "2" and sent.params["$count"] == "true"
        [entity] = doc["value"]
        assert entity["@iot.selfLink"] == "http://testserver/hh/sta/v1.1/Datastreams(1)"
        assert "Sensor@iot.navigationLink" not in entity  # not a link to the upstream: dropped
        assert entity["properties"] == page["value"][0]["properties"]
        assert doc["@iot.nextLink"].startswith("http://testserver/hh/sta/v1.1/Datastreams?")
        client.get(doc["@iot.nextLink"])
        assert route.calls.last.request.url.params["$skipFilter"] == "@iot.id gt 2"


def test_frost_next_links_keep_its_shape_for_masterportal(tmp_path: Path):
    """FROST puts `$top` into a nextLink only where the client set one, and gives an
    expanded set a nextLink even where its own `$top` is met. We ask upstream for our page
    size, so its `$top` is replaced by the client's (none here: Masterportal follows a link
    without `$top` and stops at one whose `$top` is at most its `$skip`), and a met expanded
    `$top` loses its link; an expanded set paged by the server keeps it."""
    import respx

    frost = "https://frost.example/FROST-Server/v1.1"
    latest = "Observations(%24orderby%3DphenomenonTime%20desc%3B%24top%3D1)"
    page = {
        "@iot.nextLink": f"{frost}/Things?$top=100&$skip=100&$expand=Datastreams%2F{latest}",
        "value": [
            {
                "@iot.id": 7,
                "Datastreams": [
                    {
                        "@iot.id": 9,
                        "Observations": [{"@iot.id": 1, "result": "AVAILABLE"}],
                        "Observations@iot.nextLink": f"{frost}/Datastreams(9)/Observations"
                        "?$top=1&$skip=1&$orderby=phenomenonTime%20desc",
                    }
                ],
                "Locations": [],
                "Locations@iot.nextLink": f"{frost}/Things(7)/Locations?$skip=100",
            }
        ],
    }
    tenants = {"hh": {"sensorthings": {"upstream": {"url": frost}}}}
    with (
        respx.mock() as mock,
        TestClient(create_app(parse_config({"tenants": tenants}, "t", tmp_path))) as client,
    ):
        route = mock.get(url__startswith=f"{frost}/Things").respond(json=page)
        expand = "Locations,Datastreams/Observations($orderby=phenomenonTime desc;$top=1)"
        doc = client.get(f"/hh/sta/v1.1/Things?$expand={quote(expand)}").json()
        assert route.calls.last.request.url.params["$top"] == "100"
        link = doc["@iot.nextLink"]
        assert link.startswith("http://testserver/hh/sta/v1.1/Things?$skip=100&$expand=")
        assert "$top=" not in link  # the `$top=1` inside `$expand` is escaped
        [thing] = doc["value"]
        assert "Observations@iot.nextLink" not in thing["Datastreams"][0]
        assert thing["Locations@iot.nextLink"] == (
            "http://testserver/hh/sta/v1.1/Things(7)/Locations?$skip=100"
        )
