"""Reports: the JSON shape the issue fixes, JUnit XML a CI system parses, and one HTML
file that is self-contained and escapes whatever a server sent."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.compare import render as render_compare
from conformance.model import Evidence, Report, Requirement, RequirementClass, Result, Status
from conformance.reports import write_html, write_json, write_junit
from conformance.reports.console import ConsoleProgress
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, run_suite

EVIL = '<script>alert("x")</script>&<img src=x onerror=alert(1)>\x01'


@pytest.fixture(scope="module")
def report(loop_thread: LoopThread, fake_features_app: Any) -> Report:
    broken = B.rewrite_json(
        fake_features_app, B.on_path(r"/items$"), lambda d, s: {**d, "numberReturned": -1}
    )
    return run_suite(loop_thread, broken, "http://fake/")


def test_json_report_has_the_shape_of_the_issue(report: Report, tmp_path: Path):
    write_json(report, tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["target"] == "http://fake/" and doc["started"].endswith("Z")
    assert set(doc["summary"]) == {"pass", "fail", "skip", "error"}
    assert sum(doc["summary"].values()) == len(doc["results"])
    for r in doc["results"]:
        assert {"requirement", "class", "status", "message", "evidence"} <= set(r)
        assert r["status"] in ("pass", "fail", "skip", "error")
        assert all({"method", "url", "status"} <= set(e) for e in r["evidence"])
    failed = [r for r in doc["results"] if r["status"] == "fail"]
    assert [r["requirement"] for r in failed] == [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/req/core/fc-numberReturned"
    ]
    assert failed[0]["evidence"] and failed[0]["evidence"][0]["status"] == 200


def test_junit_xml_parses_and_counts_agree(report: Report, tmp_path: Path):
    write_junit(report, tmp_path / "r.xml")
    root = ET.parse(tmp_path / "r.xml").getroot()
    assert root.tag == "testsuites"
    assert int(root.get("failures")) == report.summary()["fail"]
    assert int(root.get("tests")) == len(report.results)
    cases = root.findall(".//testcase")
    assert len(cases) == len(report.results)
    failures = root.findall(".//testcase/failure")
    assert len(failures) == 1 and "numberReturned" in failures[0].get("message")


def _evil_report() -> Report:
    cls = RequirementClass(f"class {EVIL}", "http://example.org/c", "http://example.org/")
    req = Requirement("http://example.org/req/" + EVIL, f"title {EVIL}", cls, "javascript:alert(1)")
    evidence = [
        Evidence("GET", f"http://x/{EVIL}", 500, excerpt=f"</pre>{EVIL}", content_type=EVIL)
    ]
    results = [
        Result("c/1", f"check {EVIL}", req, Status.FAIL, f"message {EVIL}", evidence, subject=EVIL),
        Result("c/2", "fine", req, Status.PASS, "ok"),
    ]
    return Report(
        "http://x/" + EVIL, "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", ["features"], results
    )


def test_html_report_is_self_contained_and_escapes_everything(tmp_path: Path):
    write_html(_evil_report(), tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    assert re.findall(r"<(link|script|img|iframe|object|embed)\b", html, re.IGNORECASE) == []
    assert "@import" not in html and "url(" not in html
    assert 'href="javascript:' not in html
    assert "Not passed" in html and "What went wrong" in html


def test_html_report_of_a_real_run_names_the_failure(report: Report, tmp_path: Path):
    write_html(report, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "req/core/fc-numberReturned" in html and "Requests made" in html


def test_compare_shows_both_targets_and_the_difference(report: Report):
    other = _evil_report()
    html = render_compare(report, other)
    assert "http://fake/" in html and "&lt;script&gt;" in html and "<script" not in html
    assert "Checks with different results" in html


def test_console_prints_plain_lines_when_not_a_terminal(report: Report, tmp_path: Path):
    out = (tmp_path / "console.txt").open("w", encoding="utf-8")
    progress = ConsoleProgress(file=out, live=False)
    progress.planned(len(report.results))
    for r in report.results:
        progress.result(r)
    progress.summary(report)
    out.close()
    text = (tmp_path / "console.txt").read_text(encoding="utf-8")
    assert "FAIL  core/fc-numberReturned [trees]" in text
    assert "NOT PASSED" in text
