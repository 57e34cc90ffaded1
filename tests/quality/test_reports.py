"""The quality reports: HTML escapes what the assessed server sent; the console shows a
progress bar on a terminal and a summary either way."""

from __future__ import annotations

import io

import profiles
from gateway.quality import QualityAccumulator
from gateway.quality.console import WalkProgress
from gateway.quality.html import render
from gateway.quality.walk import Walk
from tests.quality.test_accumulator import tree

TREES = profiles.get("street-trees")


def doc_for(*features: dict) -> dict:
    figures = QualityAccumulator(TREES)
    figures.add_many(features)
    walk = {
        "complete": False,
        "stopped": "GET x answered 500: <b>",
        "pages": 1,
        "items": len(features),
        "numberMatched": None,
        "started": "2026-01-01T00:00:00+00:00",
        "seconds": 0.5,
    }
    return {"target": "http://x/items?<script>", "walk": walk, "quality": figures.report()}


def test_the_html_report_escapes_ids_and_problems():
    doc = doc_for(tree("<script>alert(1)</script>", genus="<img src=x>"))
    html = render(doc)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "incomplete" in html


def test_the_console_shows_a_bar_on_a_terminal_and_a_summary():
    out = io.StringIO()
    progress = WalkProgress(file=out, live=True)
    state = Walk("http://x/items", pages=1, items=10, number_matched=20)
    progress(state)
    state.pages, state.items = 2, 20
    progress(state)
    progress.summary(doc_for(tree("a"), tree("a")))
    text = out.getvalue()
    assert "duplicate ids" in text and "INCOMPLETE" in text


def test_plain_lines_without_a_terminal():
    out = io.StringIO()
    progress = WalkProgress(file=out, live=False)
    progress(Walk("http://x/items", pages=1, items=10, number_matched=20))
    assert out.getvalue().strip() == "page 1: 10 of 20 items"
