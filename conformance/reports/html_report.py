"""One self-contained HTML file a procurement officer can read and file: the verdict first,
then one line per requirements class, then every failure with the request that showed it,
then all results. Inline CSS, no scripts, no external assets; everything escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path

from conformance.model import Level, Report, Result, Status

CSS = """
:root { --ok:#1a7f37; --bad:#c62828; --skip:#8a8f98; --err:#b26a00; --line:#d9dde3;
  --bg:#f6f7f9; --panel:#fff; --text:#1f2328; --muted:#59636e; --accent:#0b57d0; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
  color:var(--text); background:var(--bg); }
main { max-width:72rem; margin:0 auto; padding:1.5rem 1.25rem 3rem; }
h1 { font-size:1.6rem; margin:.2rem 0 .4rem; } h2 { font-size:1.2rem; margin:2rem 0 .6rem; }
.muted { color:var(--muted); } a { color:var(--accent); overflow-wrap:anywhere; }
.verdict { padding:1rem 1.2rem; border-radius:.5rem; color:#fff; font-size:1.15rem; margin:1rem 0; }
.verdict.pass { background:var(--ok); } .verdict.fail { background:var(--bad); }
.verdict small { display:block; font-size:.9rem; opacity:.95; margin-top:.2rem; }
table { width:100%; border-collapse:collapse; background:var(--panel);
  border:1px solid var(--line); }
th, td { text-align:left; padding:.45rem .6rem; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { background:#eef1f5; font-weight:600; }
.badge { display:inline-block; min-width:3.6rem; text-align:center; padding:.05rem .45rem;
  border-radius:1rem; color:#fff; font-size:.8rem; font-weight:600; text-transform:uppercase; }
.badge.pass { background:var(--ok); } .badge.fail { background:var(--bad); }
.badge.skip { background:var(--skip); } .badge.error { background:var(--err); }
.card { background:var(--panel); border:1px solid var(--line); border-left:4px solid var(--bad);
  border-radius:.4rem; padding:.8rem 1rem; margin:.8rem 0; }
.card.error { border-left-color:var(--err); }
.card h3 { margin:0 0 .3rem; font-size:1.02rem; }
pre { white-space:pre-wrap; overflow-wrap:anywhere; background:#f2f4f7; padding:.5rem;
  border-radius:.3rem; font-size:.85rem; max-height:16rem; overflow:auto; }
code { font-size:.88em; } details { margin:.4rem 0; } summary { cursor:pointer; }
.tag { font-size:.75rem; border:1px solid var(--line); border-radius:.3rem; padding:0 .3rem;
  color:var(--muted); margin-left:.3rem; }
"""


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def safe_href(url: str) -> str:
    """Only http(s) links become clickable; anything else is shown as text."""
    return escape(url, quote=True) if url.startswith(("http://", "https://")) else "#"


def badge(status: Status) -> str:
    return f'<span class="badge {status.value}">{status.value}</span>'


def _tags(r: Result) -> str:
    tags = []
    if r.beyond_cite:
        tags.append('<span class="tag" title="stricter than OGC\'s test suite">beyond CITE</span>')
    if r.requirement.level is not Level.REQUIREMENT:
        tags.append(f'<span class="tag">{escape(r.requirement.level.value)}</span>')
    if r.ets:
        names = escape("\n".join(r.ets), quote=True)
        count = f"{len(r.ets)} ETS tests" if len(r.ets) > 1 else "1 ETS test"
        tags.append(f'<span class="tag" title="{names}">{count}</span>')
    return "".join(tags)


def verdict(report: Report) -> str:
    counts = report.summary()
    failed = [r for r in report.results if r.status is Status.FAIL]
    required = {r.requirement.id for r in failed if r.requirement.level is Level.REQUIREMENT}
    if report.ok:
        head = "Passed: every check that applied to this server passed."
        cls = "pass"
    else:
        errors = f", {counts['error']} could not finish" if counts["error"] else ""
        head = (
            f"Not passed: {counts['fail']} check(s) failed{errors}; "
            f"{len(required)} requirement(s) of the standards are not met."
        )
        cls = "fail"
    detail = (
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} not applicable "
        f"or not tested, {counts['error']} errors."
    )
    return f'<div class="verdict {cls}">{escape(head)}<small>{escape(detail)}</small></div>'


def class_rows(report: Report) -> str:
    rows = []
    for name, results in report.by_class().items():
        n = {s: sum(r.status is s for r in results) for s in Status}
        if n[Status.FAIL] or n[Status.ERROR]:
            state = badge(Status.FAIL)
        elif n[Status.PASS]:
            state = badge(Status.PASS)
        else:
            state = badge(Status.SKIP)
        uri = results[0].requirement.cls.uri
        declared = "yes" if uri in report.declared else "no" if uri else "–"
        rows.append(
            f"<tr><td>{state}</td><td>{escape(name)}</td><td>{escape(declared)}</td>"
            f"<td>{n[Status.PASS]}</td><td>{n[Status.FAIL]}</td><td>{n[Status.SKIP]}</td>"
            f"<td>{n[Status.ERROR]}</td></tr>"
        )
    head = (
        "<tr><th>Result</th><th>Requirements class</th><th>Declared by the server</th>"
        "<th>Passed</th><th>Failed</th><th>Not applicable</th><th>Errors</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def evidence_table(r: Result, limit: int = 25) -> str:
    if not r.evidence:
        return ""
    rows = []
    for e in r.evidence[:limit]:
        excerpt = (
            f"<details><summary>response excerpt</summary><pre>{escape(e.excerpt)}</pre></details>"
            if e.excerpt
            else ""
        )
        rows.append(
            f"<tr><td>{escape(e.method)}</td><td><code>{escape(e.url)}</code>{excerpt}</td>"
            f"<td>{escape(str(e.status))}</td><td>{escape(e.content_type)}</td></tr>"
        )
    more = len(r.evidence) - limit
    tail = f'<p class="muted">… and {more} more requests</p>' if more > 0 else ""
    head = "<tr><th>Method</th><th>Request</th><th>Status</th><th>Content type</th></tr>"
    summary = f"<summary>Requests made ({len(r.evidence)})</summary>"
    return f"<details>{summary}<table>{head}{''.join(rows)}</table>{tail}</details>"


def failure_card(r: Result) -> str:
    subject = f" – collection <code>{escape(r.subject)}</code>" if r.subject else ""
    return (
        f'<div class="card {r.status.value}">'
        f"<h3>{badge(r.status)} {escape(r.requirement.title)}{_tags(r)}</h3>"
        f'<p class="muted">Requirement <a href="{safe_href(r.requirement.spec)}">'
        f"<code>{escape(r.requirement.id)}</code></a> ({escape(r.requirement.cls.name)}){subject}"
        f"<br>Check: {escape(r.title)} <code>{escape(r.check)}</code></p>"
        f"<p><strong>What went wrong:</strong> {escape(r.message)}</p>"
        f"{evidence_table(r)}</div>"
    )


def results_tables(report: Report) -> str:
    parts = []
    for name, results in report.by_class().items():
        bad = any(r.status in (Status.FAIL, Status.ERROR) for r in results)
        rows = "".join(
            f"<tr><td>{badge(r.status)}</td><td>{escape(r.title)}{_tags(r)}<br>"
            f'<code class="muted">{escape(r.label)}</code></td>'
            f"<td>{escape(r.message)}</td></tr>"
            for r in results
        )
        table = f"<table><tr><th>Result</th><th>Check</th><th>Outcome</th></tr>{rows}</table>"
        summary = f"{escape(name)} ({len(results)} checks)"
        opened = " open" if bad else ""
        parts.append(f"<details{opened}><summary>{summary}</summary>{table}</details>")
    return "".join(parts)


EXPLANATION = (
    "<p>Each line below is one <em>check</em> of one requirement of an OGC standard (or of a "
    "data profile). <strong>Passed</strong>: the server did what the requirement says. "
    "<strong>Failed</strong>: it did not; the request that showed it is listed. "
    "<strong>Not applicable</strong>: the server does not claim the capability, or another "
    "failure made the check impossible. <strong>Error</strong>: the check could not finish "
    "(for example the server did not answer in time). Checks marked <em>beyond CITE</em> are "
    "stricter than OGC's official test suite; <em>recommendation</em> marks a SHOULD of the "
    "standard rather than a SHALL.</p>"
)


def render(report: Report) -> str:
    failures = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
    declared = "".join(f"<li><code>{escape(u)}</code></li>" for u in report.declared)
    body = [
        '<p class="muted">TwinBridge conformance report</p>',
        f"<h1>{escape(report.target)}</h1>",
        f'<p class="muted">Tested {escape(report.started)} – {escape(report.finished)} '
        f"({report.duration_s:.1f} s); suites: {escape(', '.join(report.suites))}</p>",
        verdict(report),
        EXPLANATION,
        "<h2>Summary by requirements class</h2>",
        class_rows(report),
        f"<h2>Failures ({len(failures)})</h2>",
        "".join(failure_card(r) for r in failures) or "<p>None.</p>",
        "<h2>All results</h2>",
        results_tables(report),
        "<h2>Conformance classes the server declares</h2>",
        f"<ul>{declared}</ul>" if declared else "<p>None could be read.</p>",
    ]
    return page(f"Conformance report: {report.target}", "\n".join(body))


def write_html(report: Report, path: Path) -> None:
    path.write_text(render(report), encoding="utf-8")
