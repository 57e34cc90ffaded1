"""OGC SensorThings test suite, level 3 (filtering extension), ported from ets-sta10
filteringExtension/Capability3Tests, plus the precedence, function and paging checks of
FROST-Server's own suite (Capability3Tests, FilterTests, DateTimeTests, GeoTests)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.sensorthings.conftest import STA
from tests.sensorthings.test_sensing_core import MANDATORY, RELATIONS

COUNTS = {
    "Things": 2,
    "Locations": 2,
    "HistoricalLocations": 4,
    "Datastreams": 4,
    "Sensors": 4,
    "ObservedProperties": 3,
    "Observations": 12,
    "FeaturesOfInterest": 2,
}


def get(client, query: str) -> dict:
    r = client.get(f"{STA}/{query}")
    assert r.status_code == 200, (query, r.text)
    return r.json()


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_select_keeps_only_the_named_properties_and_no_navigation_links(ets, plural):
    client, _ = ets
    names = MANDATORY[plural]
    for i, name in enumerate(names):
        for entity in get(client, f"{plural}?$select={name}")["value"]:
            assert name in entity
            assert not any(other in entity for other in names if other != name)
            assert not any(k.endswith("@iot.navigationLink") for k in entity)
        several = ",".join(names[: i + 1])
        entity = get(client, f"{plural}?$select={several}")["value"][0]
        assert set(entity) == set(names[: i + 1])


def test_select_on_a_related_collection_and_with_a_relation(ets):
    client, ids = ets
    values = get(client, f"Things({ids['things'][0]})/Datastreams?$select=name,Thing")["value"]
    assert values and all(set(v) == {"name", "Thing@iot.navigationLink"} for v in values)
    entity = get(client, "Things?$select=id,properties/reference")["value"][0]
    assert set(entity) == {"@iot.id", "properties"} and set(entity["properties"]) == {"reference"}


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_expand_each_relation_inline(ets, plural):
    client, _ = ets
    for rel in RELATIONS[plural]:
        entity = get(client, f"{plural}?$expand={rel}")["value"][0]
        assert rel in entity and f"{rel}@iot.navigationLink" not in entity
        inner = entity[rel]
        assert isinstance(inner, list) == rel.endswith("s")
        first = inner[0] if isinstance(inner, list) else inner
        if first is not None:
            assert "@iot.id" in first and "@iot.selfLink" in first
        for other in RELATIONS[plural]:
            if other != rel:
                assert f"{other}@iot.navigationLink" in entity


def test_expand_several_and_multilevel_with_slashes(ets):
    client, _ = ets
    thing = get(client, "Things?$expand=Locations,Datastreams")["value"][0]
    assert thing["Locations"] and thing["Datastreams"]
    thing = get(client, "Things?$expand=Datastreams/Sensor,Datastreams/ObservedProperty")["value"][
        0
    ]
    ds = thing["Datastreams"][0]
    assert ds["Sensor"]["name"].startswith("sensor") and ds["ObservedProperty"]["name"]
    obs = get(client, "Observations?$expand=Datastream/Thing/Locations")["value"][0]
    assert obs["Datastream"]["Thing"]["Locations"][0]["location"]["type"] == "Point"


def test_expand_with_nested_options_counts_per_parent_and_top_as_a_limit(ets):
    """An expanded set's own `$top` is a limit (the latest Observation per Datastream),
    so it gets no nextLink, though `@iot.count` says there are more."""
    client, _ = ets
    nested = "Observations($orderby=phenomenonTime desc;$top=1;$count=true)"
    q = f"Things?$expand=Datastreams($select=id,name;$expand={nested})"
    for thing in get(client, q)["value"]:
        for ds in thing["Datastreams"]:
            assert set(ds) >= {"@iot.id", "name", "Observations"} and "description" not in ds
            assert ds["Observations@iot.count"] == 3 and len(ds["Observations"]) == 1
            assert "Observations@iot.nextLink" not in ds
            latest = get(client, f"Datastreams({ds['@iot.id']})/Observations")["value"]
            assert ds["Observations"][0]["phenomenonTime"] == max(
                o["phenomenonTime"] for o in latest
            )
    thing = get(client, "Things?$expand=Datastreams($top=1;$count=true)")["value"][0]
    assert len(thing["Datastreams"]) == 1 and thing["Datastreams@iot.count"] == 2
    assert "Datastreams@iot.nextLink" not in thing


def test_expanded_sets_beyond_the_default_page_link_on_with_skip(make_client):
    """Without its own `$top` an expanded set is paged by the server: its nextLink has
    FROST's shape (`$skip`, no `$top`) and leads to the rest of that parent's set."""
    client = make_client(server={"sensorthings": {"default_top": 2, "max_top": 5}})
    from tests.sensorthings.conftest import AUTH, datastream, location, observed_property

    for n in (1, 2):
        stream = datastream(n, observed_property(n))
        stream["Observations"] = [
            {"result": i, "phenomenonTime": f"2020-01-01T00:00:0{i}Z"} for i in range(3)
        ]
        thing = {"name": f"t{n}", "description": "d", "Locations": [location(n)]}
        thing["Datastreams"] = [stream]
        assert client.post(f"{STA}/Things", json=thing, headers=AUTH).status_code == 201
    q = "Datastreams?$top=1&$expand=Observations($orderby=phenomenonTime desc;$select=result)"
    doc = get(client, q)
    ds = doc["value"][0]
    link = ds["Observations@iot.nextLink"]
    assert f"/Datastreams({ds['@iot.id']})/Observations?$skip=2&" in link
    assert "$top=" not in link and "$select=result" in link
    rest = client.get(link).json()
    assert len(ds["Observations"]) + len(rest["value"]) == 3 and "@iot.nextLink" not in rest
    top_level = doc["@iot.nextLink"]
    assert top_level.split("?")[1].startswith("$top=1&$skip=1&")
    assert "Observations(%24select%3Dresult%3B%24orderby%3DphenomenonTime%20desc)" in top_level


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_top_gives_next_links_only_when_there_is_more(ets, plural):
    client, _ = ets
    one = get(client, f"{plural}?$top=1")
    assert len(one["value"]) == 1 and one["@iot.nextLink"].startswith("http://testserver/")
    two = get(client, f"{plural}?$top=2")
    assert len(two["value"]) == 2
    assert ("@iot.nextLink" in two) == (COUNTS[plural] > 2)


def test_top_on_observations_and_under_relations(ets):
    client, ids = ets
    assert "@iot.nextLink" not in get(client, "Observations?$top=12")
    thirteen = get(client, "Observations?$top=13")
    assert len(thirteen["value"]) == 12 and "@iot.nextLink" not in thirteen
    under = get(client, f"Datastreams({ids['datastreams'][0]})/Observations?$top=2")
    assert len(under["value"]) == 2 and "/Datastreams(" in under["@iot.nextLink"]


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_skip_leaves_the_rest_without_next_link(ets, plural):
    client, _ = ets
    for skip in (1, 2, 3, 4, 12):
        page = get(client, f"{plural}?$skip={skip}")
        assert len(page["value"]) == max(COUNTS[plural] - skip, 0)
        assert "@iot.nextLink" not in page


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_following_next_links_visits_every_entity_once(ets, plural):
    client, _ = ets
    seen, url = [], f"{STA}/{plural}?$top=1&$count=true"
    while url:
        page = client.get(url).json()
        assert page["@iot.count"] == COUNTS[plural]
        seen += [e["@iot.id"] for e in page["value"]]
        url = page.get("@iot.nextLink")
    assert len(seen) == len(set(seen)) == COUNTS[plural]


ORDERABLE = {
    "Things": ("name", "description"),
    "Locations": ("name", "description", "encodingType"),
    "HistoricalLocations": ("time",),
    "Datastreams": ("name", "description", "observationType"),
    "Sensors": ("name", "description", "encodingType"),
    "ObservedProperties": ("name", "definition", "description"),
    "Observations": ("phenomenonTime", "result", "resultTime"),
    "FeaturesOfInterest": ("name", "description", "encodingType"),
}


@pytest.mark.parametrize("plural", list(ORDERABLE))
def test_orderby_each_property_both_ways_and_combined(ets, plural):
    client, _ = ets
    for name in ORDERABLE[plural]:
        for direction in ("asc", "desc"):
            values = [
                e[name] for e in get(client, f"{plural}?$orderby={name} {direction}")["value"]
            ]
            present = [v for v in values if v is not None]
            assert present == sorted(present, reverse=direction == "desc"), (name, direction)
    names = ORDERABLE[plural]
    both = get(client, f"{plural}?$orderby={names[0]} desc,{names[-1]} asc")["value"]
    keys = [(e[names[0]], e[names[-1]]) for e in both if e[names[0]] is not None]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)


@pytest.mark.parametrize("plural", list(COUNTS))
def test_count_true_is_exact_and_count_false_absent(ets, plural):
    client, _ = ets
    assert get(client, f"{plural}?$count=true")["@iot.count"] == COUNTS[plural]
    assert "@iot.count" not in get(client, f"{plural}?$count=false")
    assert "@iot.count" not in get(client, plural)
    qgis = get(client, f"{plural}?$top=0&$count=true")
    assert qgis["value"] == [] and qgis["@iot.count"] == COUNTS[plural]


def test_count_on_related_collections(ets):
    client, ids = ets
    thing, ds = ids["things"][0], ids["datastreams"][0]
    assert get(client, f"Things({thing})/Datastreams?$count=true")["@iot.count"] == 2
    assert get(client, f"Datastreams({ds})/Observations?$count=true")["@iot.count"] == 3
    foi = get(client, "FeaturesOfInterest")["value"][0]["@iot.id"]
    assert get(client, f"FeaturesOfInterest({foi})/Observations?$count=true")["@iot.count"] == 6


SAMPLES = [
    ("Things", "name", "'thing 1'"),
    ("Things", "description", "'thing 2 of the test suite'"),
    ("Locations", "name", "'location 2'"),
    ("Locations", "encodingType", "'application/vnd.geo+json'"),
    ("HistoricalLocations", "time", "2015-10-14T21:30:00.104Z"),
    ("Datastreams", "name", "'datastream 2'"),
    ("Sensors", "metadata", "'Light flux sensor'"),
    ("ObservedProperties", "name", "'ObservedProperty 2'"),
    ("Observations", "result", "'2'"),
    ("Observations", "phenomenonTime", "2015-03-02T00:00:00.000Z"),
    ("FeaturesOfInterest", "name", "'location 1'"),
]
PYOPS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
}


def _comparable(value, literal: str):
    if literal.startswith("'"):
        return str(value), literal.strip("'")
    return value.replace(".000Z", "Z"), literal.replace(".000Z", "Z").replace(".104Z", ".104Z")


@pytest.mark.parametrize(("plural", "name", "literal"), SAMPLES)
def test_filter_comparisons_return_only_matching_entities(ets, plural, name, literal):
    client, _ = ets
    everything = get(client, plural)["value"]
    for op, check in PYOPS.items():
        values = get(client, f"{plural}?$filter={quote(f'{name} {op} {literal}')}")["value"]
        for entity in values:
            mine, theirs = _comparable(entity[name], literal)
            assert check(mine, theirs), (name, op, literal, entity[name])
        expected = [e for e in everything if check(*_comparable(e[name], literal))]
        assert len(values) == len(expected), (name, op)


def test_the_combined_priority_query_of_the_test_suite(ets):
    client, _ = ets
    q = "Observations?$count=true&$top=1&$skip=2&$orderby=phenomenonTime asc&$filter=result gt '3'"
    doc = get(client, q)
    assert doc["@iot.count"] == 6 and len(doc["value"]) == 1
    assert str(doc["value"][0]["result"]) == "6"


def test_top_is_clamped_and_defaults_to_100(make_client):
    client = make_client(server={"sensorthings": {"default_top": 3, "max_top": 5}})
    from tests.sensorthings.conftest import AUTH, datastream, location, observed_property

    thing = {
        "name": "t",
        "description": "d",
        "Locations": [location(1)],
        "Datastreams": [datastream(1, observed_property(1))],
    }
    thing["Datastreams"][0]["Observations"] = [
        {"result": i, "phenomenonTime": f"2020-01-01T00:00:{i:02d}Z"} for i in range(9)
    ]
    assert client.post(f"{STA}/Things", json=thing, headers=AUTH).status_code == 201
    assert len(get(client, "Observations")["value"]) == 3
    page = get(client, "Observations?$top=1000")
    assert len(page["value"]) == 5 and "$top=5" in page["@iot.nextLink"]


def test_data_array_result_format(ets):
    client, ids = ets
    ds = ids["datastreams"][1]
    doc = get(
        client,
        f"Datastreams({ds})/Observations?$resultFormat=dataArray&$select=id,phenomenonTime,result&$count=true",
    )
    assert doc["@iot.count"] == 3
    [group] = doc["value"]
    assert group["Datastream@iot.navigationLink"].endswith(f"/Datastreams({ds})")
    assert (
        group["components"] == ["id", "phenomenonTime", "result"]
        and group["dataArray@iot.count"] == 3
    )
    assert [row[2] for row in group["dataArray"]] == [4, 5, 6]
    everything = get(client, "Observations?$resultFormat=dataArray")["value"]
    assert sum(g["dataArray@iot.count"] for g in everything) == 12 and len(everything) == 4
