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


def usage_table(section: dict[str, Any] | None) -> dict[str, Any] | None:
    if section is None:
        return None
    rows = [
        {
            **row,
            "tenant": "all (federated)" if row["tenant"] == "*" else row["tenant"],
            "profile": "–" if row["profile"] == "none" else row["profile"],
            "bytes_text": readable_bytes(row["bytes"]),
            "clients_text": f"≥ {row['clients']}" if row["clientsAtLeast"] else row["clients"],
        }
        for row in section["rows"]
    ]
    return {**section, "rows": rows}
