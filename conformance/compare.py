"""Two endpoints side by side: the same suites against both, one HTML page with the
per-class summary of each and every check where their results differ first."""

from __future__ import annotations

from html import escape
from pathlib import Path

from conformance.model import Report, Result, Status
from conformance.reports.html_report import badge, page, verdict


def _index(report: Report) -> dict[str, list[Result]]:
    """Results per check (subjects differ between servers, so they are folded together)."""
    out: dict[str, list[Result]] = {}
    for r in report.results:
        out.setdefault(r.check, []).append(r)
    return out


def _worst(results: list[Result]) -> Status:
    for status in (Status.FAIL, Status.ERROR, Status.PASS, Status.SKIP):
        if any(r.status is status for r in results):
            return status
    return Status.SKIP


def _cell(results: list[Result]) -> str:
    if not results:
        return '<td class="muted">not run</td>'
    status = _worst(results)
    shown = next(r for r in results if r.status is status)
    subject = f" [{escape(shown.subject)}]" if shown.subject else ""
    return f"<td>{badge(status)}{subject}<br><small>{escape(shown.message[:400])}</small></td>"


def _summary_table(a: Report, b: Report) -> str:
    rows = []
    names = list(dict.fromkeys([*a.by_class(), *b.by_class()]))
    for name in names:
        cells = []
        for report in (a, b):
            rs = report.by_class().get(name, [])
            n = {s: sum(r.status is s for r in rs) for s in Status}
            counts = " / ".join(
                str(n[s]) for s in (Status.PASS, Status.FAIL, Status.SKIP, Status.ERROR)
            )
            cells.append(f"<td>{counts}</td>")
        rows.append(f"<tr><td>{escape(name)}</td>{''.join(cells)}</tr>")
    head = (
        f"<tr><th>Requirements class</th><th>{escape(a.target)}<br><small>pass / fail / skip / "
        f"error</small></th><th>{escape(b.target)}<br><small>pass / fail / skip / error</small>"
        "</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def render(a: Report, b: Report) -> str:
    left, right = _index(a), _index(b)
    checks = list(dict.fromkeys([*left, *right]))
    differing = [c for c in checks if _worst(left.get(c, [])) != _worst(right.get(c, []))]
    same = [c for c in checks if c not in differing]

    def rows(ids: list[str]) -> str:
        out = []
        for c in ids:
            sample = (left.get(c) or right.get(c))[0]  # type: ignore[index]
            out.append(
                f'<tr><td>{escape(sample.title)}<br><code class="muted">{escape(c)}</code>'
                f"<br><small>{escape(sample.requirement.id)}</small></td>"
                f"{_cell(left.get(c, []))}{_cell(right.get(c, []))}</tr>"
            )
        head = f"<tr><th>Check</th><th>{escape(a.target)}</th><th>{escape(b.target)}</th></tr>"
        return f"<table>{head}{''.join(out)}</table>"

    body = [
        '<p class="muted">TwinBridge conformance comparison</p>',
        f"<h1>{escape(a.target)}<br>vs {escape(b.target)}</h1>",
        f'<p class="muted">Started {escape(a.started)}; suites {escape(", ".join(a.suites))}</p>',
        f"<h2>{escape(a.target)}</h2>",
        verdict(a),
        f"<h2>{escape(b.target)}</h2>",
        verdict(b),
        "<h2>Summary by requirements class</h2>",
        _summary_table(a, b),
        f"<h2>Checks with different results ({len(differing)})</h2>",
        rows(differing) if differing else "<p>None.</p>",
        f"<h2>Checks with the same result ({len(same)})</h2>",
        f"<details><summary>show</summary>{rows(same)}</details>",
    ]
    return page(f"Conformance: {a.target} vs {b.target}", "\n".join(body))


def write_compare(a: Report, b: Report, path: Path) -> None:
    path.write_text(render(a, b), encoding="utf-8")
