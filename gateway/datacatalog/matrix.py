"""The catalog document as the HTML page's matrix: one row per profile, one column per
tenant, each cell the datasets of that pair with the few figures a table can show."""

from __future__ import annotations

from typing import Any


def _percent(share: Any) -> str:
    return "–" if not isinstance(share, int | float) else f"{share * 100:.0f} %"


def _summary(d: dict[str, Any]) -> dict[str, Any]:
    """What a cell shows of one dataset."""
    out: dict[str, Any] = {
        "title": d["title"],
        "href": next((x["href"] for x in d["links"] if x["rel"] in ("alternate", "data")), None),
        "status": d.get("status", "pending"),
        "error": d.get("error"),
        "kind": d.get("kind"),
        "conformance": _conformance(d.get("conformance") or {}),
    }
    if d.get("status") != "ok":
        return out
    quality = d.get("quality") or {}
    completeness = [v for v in (quality.get("completeness") or {}).values() if v is not None]
    geometry = quality.get("geometry") or {}
    out.update(
        count=d.get("count"),
        sampled=d.get("sampled", False),
        last_update=d.get("lastUpdate"),
        valid=_percent((quality.get("valid") or {}).get("share")),
        completeness=_percent(sum(completeness) / len(completeness) if completeness else None),
        geometry_problems=sum(geometry.values()),
        implausible=sum((quality.get("out_of_range") or {}).values())
        + sum((quality.get("outside_code_list") or {}).values())
        + sum((quality.get("wrong_result_type") or {}).values()),
        duplicates=(quality.get("ids") or {}).get("duplicates"),
        staleness_days=_days((quality.get("freshness") or {}).get("staleness_seconds")),
    )
    if d.get("kind") == "sensorthings":
        out.update(_sensorthings(d, quality))
    return out


def _sensorthings(d: dict[str, Any], quality: dict[str, Any]) -> dict[str, Any]:
    """What a SensorThings cell adds: Datastreams, and its figures by what they count."""
    observations = quality.get("observations") or {}
    fresh = quality.get("freshness") or {}
    codes = quality.get("outside_code_list") or {}
    return {
        "datastreams": d.get("datastreams"),
        "off_profile": ", ".join(f"{k} {n}" for k, n in codes.items() if n) or "0",
        "results": f"{observations.get('implausible', 0)} of {observations.get('checked', 0)}",
        "stale": f"{fresh.get('stale_datastreams', 0)} of {quality.get('items', 0)}",
    }


def _conformance(c: dict[str, Any]) -> str:
    """`passed (7 of 7 checks)` or the status alone when there are no counts yet."""
    status = str(c.get("status", "pending"))
    counts = c.get("counts") or {}
    ran = sum(counts.get(k, 0) for k in ("pass", "fail", "error"))
    return f"{status} ({counts.get('pass', 0)} of {ran} checks)" if ran else status


def _days(seconds: Any) -> str:
    return "–" if not isinstance(seconds, int | float) else f"{seconds / 86400:.0f} d"


def matrix(doc: dict[str, Any]) -> dict[str, Any]:
    tenants = [t["id"] for t in doc["tenants"]]
    rows = []
    for profile in doc["profiles"]:
        cells = {tid: [] for tid in tenants}  # type: dict[str, list[dict[str, Any]]]
        for d in doc["datasets"]:
            if d["profile"] == profile["id"] and d["tenant"] in cells:
                cells[d["tenant"]].append(_summary(d))
        rows.append({"profile": profile, "cells": [cells[tid] for tid in tenants]})
    return {"tenants": doc["tenants"], "rows": rows}
