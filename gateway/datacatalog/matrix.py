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
        "conformance": (d.get("conformance") or {}).get("status", "pending"),
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
        + sum((quality.get("outside_code_list") or {}).values()),
        duplicates=(quality.get("ids") or {}).get("duplicates"),
        staleness_days=_days((quality.get("freshness") or {}).get("staleness_seconds")),
    )
    return out


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
