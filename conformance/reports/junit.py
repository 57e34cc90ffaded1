"""JUnit XML, the format CI systems read: one <testsuite> per requirement class, one
<testcase> per check and subject; failures carry the message and the evidence."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.model import Report, Result, Status

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _evidence(r: Result) -> str:
    lines = [f"requirement: {r.requirement.id}", f"check: {r.check} - {r.title}", r.message, ""]
    for e in r.evidence[:30]:
        lines.append(f"{e.method} {e.url} -> {e.status}")
    if len(r.evidence) > 30:
        lines.append(f"... {len(r.evidence) - 30} more requests")
    return _clean("\n".join(lines))


def _case(parent: ET.Element, r: Result) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=_clean(r.requirement.cls.name),
        name=_clean(r.label),
        time=f"{r.duration_ms / 1000:.3f}",
    )
    if r.status is Status.FAIL:
        failure = ET.SubElement(case, "failure", message=_clean(r.message[:500]), type="fail")
        failure.text = _evidence(r)
    elif r.status is Status.ERROR:
        error = ET.SubElement(case, "error", message=_clean(r.message[:500]), type="error")
        error.text = _evidence(r)
    elif r.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=_clean(r.message[:500]))
    else:
        out = ET.SubElement(case, "system-out")
        out.text = _clean(f"{r.requirement.id}: {r.message}")


def to_xml(report: Report) -> ET.Element:
    counts = report.summary()
    root = ET.Element(
        "testsuites",
        name=_clean(f"twinbridge conformance {report.target}"),
        tests=str(len(report.results)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skip"]),
        time=f"{report.duration_s:.3f}",
    )
    for name, results in report.by_class().items():

        def count(status: Status, rs: list[Result] = results) -> str:
            return str(sum(r.status is status for r in rs))

        suite = ET.SubElement(
            root,
            "testsuite",
            name=_clean(name),
            tests=str(len(results)),
            failures=count(Status.FAIL),
            errors=count(Status.ERROR),
            skipped=count(Status.SKIP),
            time=f"{sum(r.duration_ms for r in results) / 1000:.3f}",
            timestamp=report.started,
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="target", value=_clean(report.target))
        ET.SubElement(props, "property", name="class", value=results[0].requirement.cls.uri)
        for r in results:
            _case(suite, r)
    return root


def write_junit(report: Report, path: Path) -> None:
    tree = ET.ElementTree(to_xml(report))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
