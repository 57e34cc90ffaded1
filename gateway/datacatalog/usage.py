"""The usage section of the catalog's HTML page: the summary's rows made readable (bytes
in KB/MB, 'at least' where the distinct clients were capped). The JSON carries them raw.

Not in DCAT-AP: neither DCAT 3 nor DCAT-AP(.de) has a term for access statistics (DQV
measures quality, not use), so the JSON-LD leaves usage out rather than invent one."""

from __future__ import annotations

from typing import Any

_UNITS = ("B", "KB", "MB", "GB", "TB")


def readable_bytes(n: int) -> str:
    size, unit = float(n), 0
    while size >= 1000 and unit < len(_UNITS) - 1:
        size, unit = size / 1000, unit + 1
    return f"{n} B" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "profile": "–" if row["profile"] == "none" else row["profile"],
        "bytes_text": readable_bytes(row["bytes"]),
        "clients_text": f"≥ {row['clients']}" if row["clientsAtLeast"] else row["clients"],
    }


def usage_table(section: dict[str, Any] | None) -> dict[str, Any] | None:
    if section is None:
        return None
    rows = [_readable(row) for row in section["rows"]]
    return {**section, "rows": rows, "totals": [_readable(row) for row in section["totals"]]}
