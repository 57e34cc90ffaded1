"""The quality report as one self-contained HTML file: inline CSS, no scripts, every value
escaped (feature ids and problem texts come from the server that was assessed)."""

from __future__ import annotations

from html import escape
from typing import Any

from gateway.quality.starows import property_rows, summary_rows

CSS = """
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
  color:#1f2328; background:#f6f7f9; }
main { max-width:64rem; margin:0 auto; padding:1.5rem 1.25rem 3rem; }
h1 { font-size:1.5rem; } h2 { font-size:1.15rem; margin-top:2rem; }
table { width:100%; border-collapse:collapse; background:#fff; border:1px solid #d9dde3; }
th, td { text-align:left; padding:.4rem .6rem; border-bottom:1px solid #d9dde3; }
th { background:#eef1f5; } td.n { text-align:right; font-variant-numeric:tabular-nums; }
.bad { color:#c62828; font-weight:600; } .muted { color:#59636e; }
meter { width:10rem; }
"""


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f} %"


def _row(*cells: str, header: bool = False) -> str:
    tag = "th" if header else "td"
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _count(n: int) -> str:
    return f'<span class="bad">{n}</span>' if n else "0"


def staleness_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    days = seconds / 86400
    return f"{days:.1f} days" if abs(days) >= 1 else f"{seconds / 3600:.1f} hours"


def _summary(doc: dict[str, Any]) -> str:
    q, w = doc["quality"], doc["walk"]
    ids = q["ids"]
    fresh = q["freshness"]
    rows = [
        _row("Items read", str(q["items"])),
        _row(
            "Walk",
            "complete"
            if w["complete"]
            else f'<span class="bad">incomplete</span>: {escape(str(w["stopped"]))}',
        ),
        _row("Valid against the profile schema", percent(q["valid"]["share"])),
        *(_row(f"Geometries {kind}", _count(n)) for kind, n in q["geometry"].items()),
        _row(
            "Duplicate ids",
            _count(ids["duplicates"])
            + (
                ""
                if ids["exact"]
                else f' <span class="muted">(exact for the first {ids["tracked_cap"]} ids)</span>'
            ),
        ),
        _row("Missing ids", _count(ids["missing"])),
        _row(
            "Newest " + escape(str(fresh["property"] or "timestamp")), escape(str(fresh["newest"]))
        ),
        _row("Staleness", staleness_text(fresh["staleness_seconds"])),
    ]
    return "<table>" + "".join(rows) + "</table>"


def _walk_row(w: dict[str, Any]) -> tuple[str, str, int]:
    if w["complete"]:
        return ("Walk", "complete", 0)
    return ("Walk", f"incomplete: {w['stopped']}", 1)


def _rows(rows: list[tuple[str, str, int]]) -> str:
    """(label, text, problems) rows, every text escaped, a row with problems marked."""
    cells = [
        _row(escape(label), f'<span class="bad">{escape(text)}</span>' if bad else escape(text))
        for label, text, bad in rows
    ]
    return "<table>" + "".join(cells) + "</table>"


def _completeness(q: dict[str, Any]) -> str:
    rows = [_row("Property", "Complete", "Outside range", "Outside code list", header=True)]
    for name, share in q["completeness"].items():
        meter = "" if share is None else f' <meter value="{share:.4f}"></meter>'
        rows.append(
            _row(
                f"<code>{escape(name)}</code>",
                percent(share) + meter,
                _count(q["out_of_range"][name]) if name in q["out_of_range"] else "–",
                _count(q["outside_code_list"][name]) if name in q["outside_code_list"] else "–",
            )
        )
    return "<table>" + "".join(rows) + "</table>"


def _examples(q: dict[str, Any]) -> str:
    rows = [_row("Check", "Item", "Problem", header=True)]
    for kind, found in q["examples"].items():
        for example in found:
            rows.append(_row(escape(kind), escape(str(example["id"])), escape(example["problem"])))
    if len(rows) == 1:
        return '<p class="muted">No problems found.</p>'
    return "<table>" + "".join(rows) + "</table>"


def render(doc: dict[str, Any]) -> str:
    q = doc["quality"]
    title = f"Data quality: {q['profile']['id']} {q['profile']['version']}"
    target = escape(doc["target"])
    read = escape(doc["walk"]["started"])
    if doc.get("kind") == "sensorthings":
        figures = (
            f"<p>Datastreams at <code>{target}</code>, read {read}.</p>"
            f"<h2>Summary</h2>{_rows([_walk_row(doc['walk']), *summary_rows(doc)])}"
            f"<h2>Per property</h2>{_rows(property_rows(q))}"
        )
    else:
        figures = (
            f"<p>Collection items at <code>{target}</code>, read {read}.</p>"
            f"<h2>Summary</h2>{_summary(doc)}"
            f"<h2>Per property</h2>{_completeness(q)}"
        )
    body = f"<h1>{escape(title)}</h1>{figures}<h2>Examples of problems</h2>{_examples(q)}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
