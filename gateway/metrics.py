"""Prometheus metrics at `/metrics`: requests by route and status with their duration, and
every backend call by source and outcome.

Requests are labelled by route template (`/{tenant}/collections/{collection_id}/items`), never
by path, so a crawler cannot grow the number of series. With several workers each process
writes its values to PROMETHEUS_MULTIPROC_DIR (`twinbridge serve --workers N` sets one up)
and `/metrics` sums them, whichever worker answers.
"""

from __future__ import annotations

import os
from functools import lru_cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "twinbridge_requests_total", "HTTP requests answered.", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "twinbridge_request_duration_seconds",
    "Time to answer a request, by route and status (shed answers are 503s).",
    ["route", "status"],
    buckets=_BUCKETS,
)
SOURCE_CALLS = Counter(
    "twinbridge_source_calls_total",
    "Calls to a backend source by outcome: ok, failed, timeout (both count against its "
    "breaker), client_error, too_costly, too_large, shed (503), rejected (circuit open), "
    "abandoned (a federation's deadline), cancelled (the client left).",
    ["source", "outcome"],
)
SOURCE_SECONDS = Histogram(
    "twinbridge_source_call_duration_seconds",
    "Time a backend source took to answer.",
    ["source"],
    buckets=_BUCKETS,
)
SOURCE_CIRCUIT_OPEN = Gauge(
    "twinbridge_source_circuit_open",
    "1 while the source's circuit breaker is open (calls fail at once), else 0.",
    ["source"],
    multiprocess_mode="livemax",
)
DATA_QUALITY = Counter(
    "twinbridge_data_quality_total",
    "Values a source sent that the gateway left out of a feature (its type was not the "
    "declared one, it did not parse), by source, field and problem: the feature is served "
    "without them.",
    ["source", "field", "problem"],
)
RESPONSE_CACHE = Counter(
    "twinbridge_response_cache_total",
    "GETs the response cache could keep, by result: hit (answered from it, or 304 from "
    "a kept answer) or miss (answered by the route).",
    ["result"],
)
RATE_LIMITED = Counter(
    "twinbridge_rate_limited_total",
    "Requests answered 429 by a rate limit, by the limit that refused them: client (one "
    "client's requests) or tenant (all clients of one tenant).",
    ["limit"],
)
SHARED_STATE_UP = Gauge(
    "twinbridge_shared_state_up",
    "1 while Redis (server.shared_state) answers, 0 while the workers fall back to their "
    "own state (the least over workers); absent without Redis configured.",
    ["backend"],  # a labelled gauge: processes that never set it (the supervisor) add nothing
    multiprocess_mode="livemin",
)


def count_left_out(source: str, field: str, problem: str) -> None:
    DATA_QUALITY.labels(source, field, problem).inc()


ROUTE_KEY = "twinbridge.route"
# Set in the scope of the gateway's own in-process requests (the catalog's background
# conformance runs): they are not client traffic, so they are neither counted nor logged as
# such. A scope key, not a header: a client cannot set it.
INTERNAL_KEY = "twinbridge.internal"


def label_routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    """Let each route write its template into the request scope for observe_request (the
    router does not leave the matched route there)."""
    for route in routes:
        if isinstance(route, Route):
            route.app = _labelled(route.app, route.path)
    return routes


def _labelled(app: ASGIApp, path: str) -> ASGIApp:
    async def labelled(scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_KEY] = path
        await app(scope, receive, send)

    return labelled


# The labelled series each observation updates, looked up once: `labels()` validates and
# locks on every call, five calls per request. Labels are route templates, statuses and
# source names, so the number of series stays small.
@lru_cache(maxsize=4096)
def _request_series(route: str, method: str, status: str) -> tuple[Counter, Histogram]:
    return REQUESTS.labels(route, method, status), REQUEST_SECONDS.labels(route, status)


@lru_cache(maxsize=4096)
def _source_series(source: str, outcome: str) -> tuple[Counter, Histogram]:
    return SOURCE_CALLS.labels(source, outcome), SOURCE_SECONDS.labels(source)


@lru_cache(maxsize=4096)
def _circuit_series(source: str) -> Gauge:
    return SOURCE_CIRCUIT_OPEN.labels(source)


def observe_request(route: str, method: str, status: int | str, seconds: float) -> None:
    requests, duration = _request_series(route, method, str(status))
    requests.inc()
    duration.observe(seconds)


def observe_source(source: str, outcome: str, seconds: float) -> None:
    calls, duration = _source_series(source, outcome)
    calls.inc()
    duration.observe(seconds)


def observe_circuit(source: str, is_open: bool) -> None:
    _circuit_series(source).set(1 if is_open else 0)


async def endpoint(request: Request) -> Response:
    registry = REGISTRY
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


__all__ = [
    "INTERNAL_KEY",
    "MULTIPROCESS_ENV",
    "ROUTE_KEY",
    "endpoint",
    "label_routes",
    "observe_circuit",
    "observe_request",
    "observe_source",
]
