"""Duplicate ids with bounded memory: exact up to a cap, then honest about it."""

from __future__ import annotations

from typing import Any


class BoundedIds:
    """Counts ids seen more than once. Up to `cap` distinct ids are remembered (as 64-bit
    hashes, not strings, so a million ids cost tens of MB, not hundreds); after that new
    ids are no longer remembered, so duplicates among them go unseen and `exact` is False."""

    def __init__(self, cap: int = 200_000) -> None:
        self.cap = cap
        self._seen: set[int] = set()
        self.missing = 0
        self.duplicates = 0
        self.untracked = 0  # ids that arrived after the cap was reached

    def add(self, feature_id: Any) -> None:
        if feature_id is None or feature_id == "":
            self.missing += 1
            return
        key = hash(str(feature_id))  # GeoJSON ids are strings or numbers: 7 and "7" clash
        if key in self._seen:
            self.duplicates += 1
        elif len(self._seen) < self.cap:
            self._seen.add(key)
        else:
            self.untracked += 1

    @property
    def exact(self) -> bool:
        return self.untracked == 0

    def report(self) -> dict[str, Any]:
        return {
            "missing": self.missing,
            "duplicates": self.duplicates,
            "exact": self.exact,
            "tracked_cap": self.cap,
            "untracked": self.untracked,
        }
