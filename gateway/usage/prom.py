"""The usage KPIs on /metrics. The counters are incremented per request in each worker and
summed by Prometheus' multiprocess mode; the distinct-clients gauge is read from the shared
state file after each flush, so every worker reports the same value (the latest wins)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge

_LABELS = ["tenant", "profile", "api"]

REQUESTS = Counter(
    "twinbridge_usage_requests_total",
    "Requests served (status below 400) to clients, by tenant ('*': federated or none), "
    "profile ('none': no single one) and API (features, sensorthings, catalog, other).",
    _LABELS,
)
FEATURES = Counter(
    "twinbridge_usage_features_total",
    "Features (Features API) or entities (SensorThings API) served to clients.",
    _LABELS,
)
BYTES = Counter(
    "twinbridge_usage_bytes_total",
    "Response body bytes sent to clients (as sent: compressed when negotiated).",
    _LABELS,
)
CLIENTS = Gauge(
    "twinbridge_usage_clients_today",
    "Distinct client applications (API key or X-Client) served today (UTC), from the state "
    "every worker shares; a lower bound once max_clients is reached.",
    _LABELS,
    multiprocess_mode="mostrecent",
)


class Children:
    """The labelled counters of each cell, looked up once (labels() costs more than inc())."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}

    def add(self, labels: tuple[str, str, str], features: int, size: int) -> None:
        found = self._known.get(labels)
        if found is None:
            found = self._known[labels] = (
                REQUESTS.labels(*labels),
                FEATURES.labels(*labels),
                BYTES.labels(*labels),
            )
        found[0].inc()
        if features:
            found[1].inc(features)
        if size:
            found[2].inc(size)


def publish_clients(today: list[dict[str, Any]], shown: set[tuple[str, str, str]]) -> None:
    """Today's distinct clients per cell; cells shown before but quiet today go to 0."""
    now = {(r["tenant"], r["profile"], r["api"]): r["clients"] for r in today}
    for labels in shown - now.keys():
        CLIENTS.labels(*labels).set(0)
    for labels, n in now.items():
        CLIENTS.labels(*labels).set(n)
    shown |= now.keys()
