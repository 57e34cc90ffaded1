"""What Masterportal's SensorThings layer requests, from another origin: Things (or
Datastreams) in the map extent with their Locations and each Datastream's latest Observation,
every `@iot.nextLink` and nested `X@iot.nextLink` followed by Masterportal's stop rule. The
walk must end in a few requests per page of Things and draw every Thing with every Datastream
and its latest Observation, for a tenant's STA and for the federated root."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from pyproj import Transformer
from shapely.geometry import Point, Polygon

from tests.browser.masterportal.conftest import demo_config_file
from tests.conftest import start_gateway

pytestmark = pytest.mark.integration

TO_25832 = Transformer.from_crs("OGC:CRS84", "EPSG:25832", always_xy=True)
TO_4326 = Transformer.from_crs("EPSG:25832", "OGC:CRS84", always_xy=True)
DEFAULT_TOP = 100  # server.sensorthings.default_top: one page of Things
LATEST = "$orderby=phenomenonTime%20desc;$top=1"
# urlParameter as a services.json entry gives it (see docs/masterportal/services.json)
BY_THINGS = {"root": "Things", "expand": f"Locations,Datastreams/Observations({LATEST})"}
BY_DATASTREAMS = {"root": "Datastreams", "expand": f"Thing/Locations,Observations({LATEST})"}
# the shape of Hamburg's own e-charging layer (its services-internet.json), on the demo's
# look-alike data: Datastreams filtered by their properties, the Thing's Locations nested
HAMBURG_CHARGING = {
    "root": "Datastreams",
    "filter": "properties/serviceName%20eq%20%27HH_STA_E-Ladestationen%27"
    " and properties/layerName%20eq%20%27Status_E-Ladepunkt%27",
    "expand": f"Observations({LATEST}),Thing($expand=Locations)",
}


def every(url: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """All entities of a collection, following only the top-level next links."""
    out: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        body = httpx.get(next_url, params=params, timeout=30).json()
        params = None  # the next link carries them
        out += body["value"]
        next_url = body.get("@iot.nextLink")
    return out


class Truth:
    """What the service holds, read entity by entity: each Thing's place and each of its
    Datastreams' latest Observation (Masterportal's own fallback request)."""

    def __init__(self, sta: str, datastreams: str | None = None) -> None:
        """`datastreams`: the layer's $filter on Datastreams (its Things only, then)."""
        streams = every(
            f"{sta}/Datastreams",
            {
                "$expand": "Thing($expand=Locations)",
                **({"$filter": datastreams} if datastreams else {}),
            },
        )
        things = (
            [s["Thing"] for s in streams]
            if datastreams
            else every(f"{sta}/Things", {"$expand": "Locations"})
        )
        self.places = {
            str(t["@iot.id"]): TO_25832.transform(*t["Locations"][0]["location"]["coordinates"])
            for t in things
        }
        self.latest: dict[str, dict[str, Any]] = {}
        for stream in streams:
            newest = httpx.get(
                f"{stream['@iot.selfLink']}/Observations",
                params={"$orderby": "phenomenonTime desc", "$top": "1"},
                timeout=30,
            ).json()["value"]
            thing = str(stream["Thing"]["@iot.id"])
            self.latest.setdefault(thing, {})[str(stream["@iot.id"])] = (
                newest[0]["@iot.id"] if newest else None
            )

    def extent(self, aspect: float) -> list[float]:
        """The Things' box in EPSG:25832 with a margin. The map fits it to its viewport
        (`aspect`: width / height), then Masterportal sends that extent's corners in
        EPSG:4326 joined by straight lines, which cut off a strip of the UTM box (Hamburg
        to Leipzig: more than a km; from Rotterdam to Aarhus: Aarhus, whose latitude the
        far corners do not reach). The margin grows until that polygon holds every Thing."""
        xs = [p[0] for p in self.places.values()]
        ys = [p[1] for p in self.places.values()]
        margin = max(500.0, 0.05 * max(max(xs) - min(xs), max(ys) - min(ys)))
        points = [Point(*TO_4326.transform(x, y)) for x, y in self.places.values()]
        while True:
            box = [min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin]
            if all(_sent(box, aspect).contains(p) for p in points):
                return box
            margin *= 1.5


def _sent(box: list[float], aspect: float) -> Polygon:
    """The polygon Masterportal sends for `box` fitted exactly to a viewport (the map's
    `fit` without resolution steps, as main.js's `show` calls it)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    width, height = box[2] - box[0], box[3] - box[1]
    width, height = max(width, height * aspect), max(height, width / aspect)
    x0, x1, y0, y1 = cx - width / 2, cx + width / 2, cy - height / 2, cy + height / 2
    return Polygon([TO_4326.transform(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))])


def aspect(portal: Any) -> float:
    size = portal.viewport_size or {"width": 1280, "height": 720}  # Playwright's default
    return size["width"] / size["height"]


SMALL_PAGE = 7


@pytest.fixture(scope="module")
def small_pages(
    demo_dir: Path, demo_services: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo with server-driven pages of 7 (`server.sensorthings.default_top`): every
    layer request becomes a walk over next links, and nested options sit in each link
    beside the $top and $skip Masterportal reads out of it with a regular expression."""
    folder = tmp_path_factory.mktemp("small-pages")

    def edit(config: dict[str, Any]) -> None:
        config["server"].update(sensorthings={"default_top": SMALL_PAGE})
        # It reads the stores the demo's own gateway syncs into: a second sync of the same
        # REST and NGSI sources into the same files would add each Observation twice, and
        # which of two equal phenomenonTimes is "latest" would be a coin toss.
        for tenant in config["tenants"].values():
            (tenant.get("sensorthings") or {}).pop("sync", None)

    config_file = demo_config_file(folder, edit)
    env = {"TWINBRIDGE_DEMO_DIR": str(demo_dir), "TWINBRIDGE_DEMO_SERVICES": demo_services}
    proc, url = start_gateway(env, "--config", str(config_file))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def truths(live_demo: str) -> dict[str, Truth]:
    """What each case's layer must draw: all Things, or (Hamburg's e-charging layer, whose
    tenant also holds tide gauges) those of the Datastreams its filter names."""
    charging = unquote(HAMBURG_CHARGING["filter"])
    return {
        "/hamburg/sta": Truth(f"{live_demo}/hamburg/sta/v1.1"),
        "/hamburg/sta?charging": Truth(f"{live_demo}/hamburg/sta/v1.1", charging),
        "/sta": Truth(f"{live_demo}/sta/v1.1"),
    }


def truth_of(truths: dict[str, Truth], path: str, url_parameter: dict) -> Truth:
    return truths[f"{path}?charging" if url_parameter is HAMBURG_CHARGING else path]


def load(portal: Any, base: str, path: str, url_parameter: dict, extent: list, most: int) -> dict:
    layer = {
        "url": f"{base}{path}",
        "version": "1.1",
        "urlParameter": url_parameter,
        "loadThingsOnlyInCurrentExtent": True,  # adds st_intersects over the map extent
        "epsg": "EPSG:4326",
    }
    return portal.evaluate(
        "([layer, extent, most]) => window.twinbridge.loadSensorThings(layer, extent, most)",
        [layer, extent, most],
    )


def assert_drawn(loaded: dict, truth: Truth) -> None:
    """Every Thing at its place, with each of its Datastreams' latest Observation."""
    things = {t["id"]: t for t in loaded["things"]}
    missing, extra = truth.places.keys() - things.keys(), things.keys() - truth.places.keys()
    assert not missing and not extra, f"Things missing {sorted(missing)}, extra {sorted(extra)}"
    for thing_id, (x, y) in truth.places.items():
        thing = things[thing_id]
        assert thing["at"] == [pytest.approx(x, abs=0.05), pytest.approx(y, abs=0.05)]
        assert set(thing["dataStreamId"].split(" | ")) == truth.latest[thing_id].keys()
        latest = {ds: (o or {}).get("@iot.id") for ds, o in thing["latest"].items()}
        assert latest == truth.latest[thing_id], f"Thing {thing_id}: not the latest Observations"


CASES = [
    ("/hamburg/sta", BY_THINGS),
    ("/hamburg/sta", HAMBURG_CHARGING),
    ("/sta", BY_THINGS),
    ("/sta", BY_DATASTREAMS),
]
IDS = ["tenant-things", "tenant-datastreams", "federated-things", "federated-datastreams"]


@pytest.mark.parametrize(("path", "url_parameter"), CASES, ids=IDS)
def test_masterportal_sensorthings_layer_loads_every_thing_with_latest_observations_in_few_requests(
    portal: Any, live_demo: str, truths: dict[str, Truth], path: str, url_parameter: dict
) -> None:
    truth = truth_of(truths, path, url_parameter)
    bound = 3 * math.ceil(len(truth.places) / DEFAULT_TOP)

    loaded = load(portal, live_demo, path, url_parameter, truth.extent(aspect(portal)), 10 * bound)

    requests = loaded["requests"]
    print(f"\n{path} {url_parameter['root']}: {len(truth.places)} Things, {len(requests)} requests")
    assert "st_intersects" in httpx.URL(requests[0]).params["$filter"]
    assert len(requests) <= bound, "\n".join(requests)
    assert_drawn(loaded, truth)


@pytest.mark.parametrize(("path", "url_parameter"), CASES, ids=IDS)
def test_masterportal_follows_server_driven_pages_to_the_end(
    portal: Any, small_pages: str, truths: dict[str, Truth], path: str, url_parameter: dict
) -> None:
    truth = truth_of(truths, path, url_parameter)  # the demo's data, in smaller pages
    entities = (
        len(truth.places)
        if url_parameter["root"] == "Things"
        else len([ds for streams in truth.latest.values() for ds in streams])
    )
    pages = math.ceil(entities / SMALL_PAGE)

    loaded = load(
        portal, small_pages, path, url_parameter, truth.extent(aspect(portal)), 10 * pages
    )

    print(f"\n{path} {url_parameter['root']} in pages of {SMALL_PAGE}: {len(loaded['requests'])}")
    assert pages <= len(loaded["requests"]) <= 3 * pages, "\n".join(loaded["requests"])
    assert_drawn(loaded, truth)


def test_a_top_in_masterportals_url_parameter_is_a_limit_it_keeps(
    portal: Any, live_demo: str, truths: dict[str, Truth]
) -> None:
    """Masterportal stops at a next link whose $top <= $skip: the client's own $top is the
    number of Things it wants, and next links must say so (FROST's shape)."""
    truth = truths["/hamburg/sta"]
    limited = {**BY_THINGS, "top": SMALL_PAGE}

    loaded = load(portal, live_demo, "/hamburg/sta", limited, truth.extent(aspect(portal)), 10)

    assert len(loaded["requests"]) == 1 and len(loaded["things"]) == SMALL_PAGE
