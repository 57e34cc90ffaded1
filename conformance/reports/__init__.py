"""Report writers: JSON (machine-readable), JUnit XML (CI systems), one self-contained HTML
file (people), and the console display used while a run is in progress."""

from __future__ import annotations

from conformance.reports.html_report import write_html
from conformance.reports.json_report import write_json
from conformance.reports.junit import write_junit

__all__ = ["write_html", "write_json", "write_junit"]
