"""The gateways the corpus runs against, in process: what each serves (its `Surface`), how a
case is sent, and the watch over its sources."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient

from tests.hostile import ogc, ogc_http, ogc_size, ogc_text, sta, sta_more
from tests.hostile.asgi import Answer, call
from tests.hostile.checks import SLOWEST_MS, Watch, check_answer, record, server_ms
from tests.hostile.corpus import Case, Items, StaRoot, Surface, unique
from tests.sensorthings.conftest import KEY

T = TypeVar("T")
OGC_BUILDERS = (
    ogc.injection,
    ogc_size.size,
    ogc_size.depth,
    ogc_text.encoding,
    ogc_text.nul,
    ogc_size.patterns,
    ogc_http.paths,
    ogc_http.headers,
)
STA_BUILDERS = (
    sta.injection,
    sta.size,
    sta.depth,
    sta_more.encoding,
    sta_more.nul,
    sta_more.patterns,
    sta_more.paths,
    sta_more.headers,
)


def corpus(surface: Surface) -> list[Case]:
    ogc_cases = (build(surface) for build in OGC_BUILDERS) if surface.items else ()
    sta_cases = (build(surface) for build in STA_BUILDERS) if surface.sta else ()
    return unique(chain(*ogc_cases, *sta_cases))


def params(cases: Iterable[Case]) -> list[Any]:
    """pytest parameters, marked where another branch owns the fix."""
    return params_of(cases, lambda case: case)


def params_of(items: Iterable[T], case_of: Callable[[T], Case]) -> list[Any]:
    out = []
    for item in items:
        case = case_of(item)
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(item, id=case.id, marks=marks))
    return out


def tree_items(label: str, path: str, item: str) -> Items:
    return Items(label, path, "genus", "planting_year", "height_m", "last_update", item)


FILES = Surface(
    label="files",
    items=(
        tree_items("root", "/collections/street-trees/items", "hamburg.strassenbaeume.100004"),
        tree_items("hamburg", "/hamburg/collections/strassenbaeume/items", "100004"),
        tree_items("leipzig", "/leipzig/collections/baumkataster/items", "40011"),
        tree_items("muenchen", "/muenchen/collections/baeume/items", "M-000001"),
    ),
    sta=(
        StaRoot("root", "/sta/v1.1", "'hamburg:1'", federated=True),
        StaRoot("hamburg", "/hamburg/sta/v1.1", "1"),
        StaRoot("leipzig", "/leipzig/sta/v1.1", "1"),
    ),
    tenants=("hamburg", "leipzig", "muenchen"),
    in_memory=True,
    pages=(
        "/",
        "/collections",
        "/collections/street-trees",
        "/hamburg/",
        "/conformance",
        "/leipzig/collections/baumkataster",
        "/muenchen/collections/baeume/queryables",
    ),
)

POSTGIS = Surface(
    label="postgis",
    items=(
        tree_items("root", "/collections/street-trees/items", "hxpg.trees.1"),
        tree_items("trees", "/hxpg/collections/trees/items", "1"),
        Items(
            "baeume",
            "/hxpg/collections/baeume/items",
            "gattung",
            "pflanzjahr",
            "hoehe",
            "stand",
            "1",
        ),
    ),
    sta=(StaRoot("pgsta", "/hxsta/sta/v1.1", "1", writable=True),),
    tenants=("hxpg", "hxsta"),
    api_key=KEY,
    pages=("/", "/collections", "/hxpg/collections/baeume", "/hxpg/collections/trees/queryables"),
)

UPSTREAM = Surface(
    label="upstream",
    sta=(
        StaRoot("up", "/hxup/sta/v1.1", "1", proxied=True),
        StaRoot("root", "/sta/v1.1", "'hxup:1'", federated=True, proxied=True),
    ),
    tenants=("hxup",),
)


@dataclass
class Target:
    """One gateway in process, with its watch."""

    name: str
    client: TestClient
    secrets: tuple[str, ...] = ()
    watch: Watch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = Watch(self.guards, self.metrics_text)
        self.watch.start()
        self.metrics_baseline = self.metrics_text()

    def guards(self) -> dict[str, Any]:
        state = self.client.app.state  # type: ignore[attr-defined]
        found = {s.name: s.guard for s in state.catalog.sources()}
        found |= {g.guard.name: g.guard for g in state.sensorthings.guarded.values()}
        return found

    def exchange(self, case: Case) -> tuple[Answer, Any]:
        """The case's answer and then /ready's, in one trip to the app's event loop."""
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in case.headers]
        app = self.client.app

        async def both() -> tuple[Answer, Any]:
            answer = await call(app, case.method, case.target.encode(), headers, case.body)
            ready = await call(app, "GET", b"/ready", [])
            return answer, json.loads(ready.body)

        return self.client.portal.call(both)  # type: ignore[union-attr]

    def metrics_text(self) -> str:
        return self.client.get("/metrics").text

    def run(self, case: Case) -> None:
        answer, ready = self.exchange(case)
        if case.method in ("GET", "HEAD") and (server_ms(answer) or 0.0) > SLOWEST_MS:
            # Slow once may be a busy machine; slow again is the input's doing.
            answer, ready = self.exchange(case)
        record(self.name, case, answer)
        check_answer(case, answer, self.secrets)
        self.watch.check(case.id, ready)


@contextmanager
def target(
    name: str,
    app: Any,
    secrets: tuple[str, ...] = (),
    prepare: Callable[[TestClient], Any] | None = None,
) -> Iterator[Target]:
    """The app served in process; `prepare` fills it (with the API key) before the watch
    starts."""
    with TestClient(app) as client:
        if prepare is not None:
            prepare(client)
        found = Target(name, client, secrets)
        yield found
        found.watch.check_scrape(found.metrics_baseline)
