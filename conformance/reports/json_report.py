"""The JSON report: `{"target", "started", "summary": {...}, "results": [...]}` and more."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.model import Report


def dumps(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def write_json(report: Report, path: Path) -> None:
    path.write_text(dumps(report) + "\n", encoding="utf-8")
