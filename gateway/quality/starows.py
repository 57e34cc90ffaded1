"""A SensorThings quality document as rows (label, text, problems) for the console's table
and the HTML report: one list, so both say the same. `problems` > 0 marks a row as bad."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, int]


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f} %"


def _staleness(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    days = seconds / 86400
    return f"{days:.1f} days" if abs(days) >= 1 else f"{seconds / 3600:.1f} hours"


def summary_rows(doc: dict[str, Any]) -> list[Row]:
    q = doc["quality"]
    n = q["items"]
    observations, fresh, ids = q["observations"], q["freshness"], q["ids"]
    invalid = n - q["valid"]["count"]
    stale_after = _staleness(fresh["stale_after_seconds"])
    rows: list[Row] = [
        ("Datastreams of the profile", str(n), 0),
        ("Observations", str(doc.get("observations", "?")), 0),
        ("Things", str(q["things"]), 0),
        ("Datastreams valid against the schema", _percent(q["valid"]["share"]), invalid),
    ]
    for what, k in q["outside_code_list"].items():
        rows.append((f"{what} not the profile's", str(k), k))
    rows += [
        (
            f"Recent results implausible (latest {observations['window']} per Datastream)",
            f"{observations['implausible']} of {observations['checked']}",
            observations["implausible"],
        ),
        *((f"Things with {kind} Location", str(k), k) for kind, k in q["geometry"].items()),
        ("Duplicate Datastream ids", str(ids["duplicates"]), ids["duplicates"]),
        ("Duplicate Datastream names", str(q["names"]["duplicates"]), q["names"]["duplicates"]),
        ("Newest phenomenonTime", str(fresh["newest"]), 0),
        ("Staleness", _staleness(fresh["staleness_seconds"]), 0),
        (
            f"Datastreams stale (older than {stale_after})",
            str(fresh["stale_datastreams"]),
            fresh["stale_datastreams"],
        ),
        (
            "Datastreams without Observations",
            str(fresh["without_observations"]),
            fresh["without_observations"],
        ),
    ]
    return rows


def property_rows(q: dict[str, Any]) -> list[Row]:
    """Per observed property its implausible recent results, per required property its
    completeness."""
    rows: list[Row] = []
    for key, high_low in q["out_of_range"].items():
        wrong = q["wrong_result_type"][key]
        text = f"{high_low} out of range, {wrong} of the wrong type"
        rows.append((f"results: {key}", text, high_low + wrong))
    for name, share in q["completeness"].items():
        rows.append((f"complete: {name}", _percent(share), 0 if share in (None, 1.0) else 1))
    return rows
