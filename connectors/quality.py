"""The data-quality counter: values a connector left out of an item because their type is
not their field's (a sensor's "n/a" in a numeric attribute). The item is served without
the value instead of failing the page; operators see how often in `/metrics`.

On prometheus_client's default registry, as gateway/metrics.py reads it (and sums it
across workers); connectors import nothing from the gateway, so the counter lives here.
"""

from __future__ import annotations

from prometheus_client import Counter

VALUES_DROPPED = Counter(
    "twinbridge_source_values_dropped_total",
    "Values left out of items because their type is not their field's (the item is served "
    "without them), by source.",
    ["source"],
)


def value_dropped(source: str, count: int = 1) -> None:
    VALUES_DROPPED.labels(source=source).inc(count)


__all__ = ["VALUES_DROPPED", "value_dropped"]
