"""Prometheus series of the sync, labelled by `<tenant>/<source>` (from the configuration,
so their number is bounded)."""

from __future__ import annotations

from prometheus_client import Counter

SYNC_RUNS = Counter(
    "twinbridge_sync_runs_total",
    "Synchronisation runs of a source by outcome: ok, failed (the broker or the store "
    "failed; retried with backoff), history_failed (the temporal API did not answer).",
    ["source", "outcome"],
)
SYNC_OBSERVATIONS = Counter(
    "twinbridge_sync_observations_total",
    "Observations a source added to the store (polls, notifications, history).",
    ["source"],
)
SYNC_SKIPPED = Counter(
    "twinbridge_sync_skipped_total",
    "Values a source did not store: already stored, of an unexpected type or without a "
    "time or place (those of an unexpected type or without a time are also counted in "
    "twinbridge_data_quality_total by attribute).",
    ["source"],
)
SYNC_NOTIFICATIONS = Counter(
    "twinbridge_sync_notifications_total",
    "Notifications received by outcome: accepted, refused (no or a wrong secret), invalid "
    "(a malformed body), too_large, failed (the store failed).",
    ["source", "outcome"],
)
SYNC_SUBSCRIPTIONS = Counter(
    "twinbridge_sync_subscription_checks_total",
    "Checks that the broker holds the source's subscription, by outcome: ok, failed.",
    ["source", "outcome"],
)
