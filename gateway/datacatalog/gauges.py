"""The catalog's figures as Prometheus gauges, labelled by tenant, profile and dataset
(a bounded set: what the configuration names), set each time a dataset is computed."""

from __future__ import annotations

from typing import Any

from prometheus_client import Gauge

_LABELS = ["tenant", "profile", "dataset"]
_MODE = "livemostrecent"  # several workers compute the same figures: the latest counts

ITEMS = Gauge(
    "twinbridge_catalog_items",
    "Items a dataset holds: features, or a SensorThings dataset's Observations.",
    _LABELS,
    multiprocess_mode=_MODE,
)
VALID = Gauge(
    "twinbridge_catalog_valid_ratio",
    "Share (0..1) of a dataset's items valid against its profile's schema.",
    _LABELS,
    multiprocess_mode=_MODE,
)
COMPLETE = Gauge(
    "twinbridge_catalog_completeness_ratio",
    "Share (0..1) of a dataset's items with a non-null value of the profile property.",
    [*_LABELS, "property"],
    multiprocess_mode=_MODE,
)
GEOMETRY = Gauge(
    "twinbridge_catalog_geometry_problems",
    "Items whose geometry is missing, empty or invalid, by problem (SensorThings: Things "
    "without a Location, or with an empty or invalid one).",
    [*_LABELS, "problem"],
    multiprocess_mode=_MODE,
)
IMPLAUSIBLE = Gauge(
    "twinbridge_catalog_implausible_values",
    "Values outside the profile's range (check=range) or code list (check=code_list); "
    "SensorThings: recent results out of range or of the wrong type (check=result_type), "
    "Datastreams whose ObservedProperty, unitOfMeasurement or observationType is not the "
    "profile's (check=code_list).",
    [*_LABELS, "property", "check"],
    multiprocess_mode=_MODE,
)
DUPLICATES = Gauge(
    "twinbridge_catalog_duplicate_ids",
    "Items whose id an earlier item of the dataset had.",
    _LABELS,
    multiprocess_mode=_MODE,
)
STALENESS = Gauge(
    "twinbridge_catalog_staleness_seconds",
    "Age of a dataset's newest timestamp when its figures were computed.",
    _LABELS,
    multiprocess_mode=_MODE,
)
COMPUTED = Gauge(
    "twinbridge_catalog_computed_timestamp_seconds",
    "When a dataset's figures were last computed successfully (Unix time).",
    _LABELS,
    multiprocess_mode=_MODE,
)
FAILED = Gauge(
    "twinbridge_catalog_failed",
    "1 when the last computation of a dataset's figures failed, else 0.",
    _LABELS,
    multiprocess_mode=_MODE,
)

DATASTREAMS = Gauge(
    "twinbridge_catalog_datastreams",
    "Datastreams of a SensorThings dataset (those declaring its profile).",
    _LABELS,
    multiprocess_mode=_MODE,
)
STALE = Gauge(
    "twinbridge_catalog_stale_datastreams",
    "Datastreams whose newest Observation is older than server.catalog.stale_seconds.",
    _LABELS,
    multiprocess_mode=_MODE,
)

CONFORMANCE = Gauge(
    "twinbridge_catalog_conformance_passed",
    "1 when the dataset's latest profile-conformance run passed, 0 when it did not.",
    _LABELS,
    multiprocess_mode=_MODE,
)


def publish(labels: tuple[str, str, str], figures: dict[str, Any], when: float) -> None:
    """Set every gauge of one dataset from its figures document."""
    FAILED.labels(*labels).set(0 if figures.get("status") == "ok" else 1)
    if figures.get("status") != "ok":
        return
    COMPUTED.labels(*labels).set(when)
    if figures.get("count") is not None:
        ITEMS.labels(*labels).set(figures["count"])
    if figures.get("datastreams") is not None:
        DATASTREAMS.labels(*labels).set(figures["datastreams"])
    conformance = (figures.get("conformance") or {}).get("status")
    if conformance in ("passed", "failed", "error"):
        CONFORMANCE.labels(*labels).set(1 if conformance == "passed" else 0)
    quality = figures.get("quality")
    if quality:
        _publish_quality(labels, quality)


def _publish_quality(labels: tuple[str, str, str], quality: dict[str, Any]) -> None:
    """Features and SensorThings reports share their figures' names where they mean the
    same; a figure one of them lacks is left out."""
    if quality["valid"]["share"] is not None:
        VALID.labels(*labels).set(quality["valid"]["share"])
    for name, share in quality.get("completeness", {}).items():
        if share is not None:
            COMPLETE.labels(*labels, name).set(share)
    for problem, n in quality.get("geometry", {}).items():
        GEOMETRY.labels(*labels, problem).set(n)
    checks = (
        ("range", "out_of_range"),
        ("code_list", "outside_code_list"),
        ("result_type", "wrong_result_type"),
    )
    for check, key in checks:
        for name, n in quality.get(key, {}).items():
            IMPLAUSIBLE.labels(*labels, name, check).set(n)
    if "ids" in quality:
        DUPLICATES.labels(*labels).set(quality["ids"]["duplicates"])
    if quality.get("freshness", {}).get("stale_datastreams") is not None:
        STALE.labels(*labels).set(quality["freshness"]["stale_datastreams"])
    staleness = quality.get("freshness", {}).get("staleness_seconds")
    if staleness is not None:
        STALENESS.labels(*labels).set(staleness)
