"""The documented number of manual edits per demo source (docs/mapping-wizard.md) holds:
drafting the demo's raw sources again needs no more edits, and no more lines, than the
table says."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.config import load_config
from gateway.mapwizard.check import check_config
from gateway.mapwizard.measure import measure_all

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "mapping-wizard.md"


def documented() -> dict[str, tuple[int, int]]:
    """collection -> (edits, lines) from the table between the markers."""
    text = (
        DOC.read_text("utf-8")
        .split("<!-- measured: begin -->")[1]
        .split("<!-- measured: end -->")[0]
    )
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ")]
    return {r[0].strip(): (int(r[3]), int(r[4])) for r in rows[1:]}


def test_drafting_the_demo_sources_needs_no_more_edits_than_documented(
    demo_dir: Path, demo_services: str
) -> None:
    table = documented()
    measured = asyncio.run(measure_all(load_config(ROOT / "gateway" / "demo" / "demo.yaml")))
    assert {f"{m.tenant}/{m.collection}" for m in measured} == set(table)
    worse = {
        name: (m.edits, m.lines)
        for m in measured
        if (name := f"{m.tenant}/{m.collection}")
        and (m.edits > table[name][0] or m.lines > table[name][1])
    }
    assert not worse, f"drafts need more edits than docs/mapping-wizard.md says: {worse}"
    street_trees = [m for m in measured if m.profile == "street-trees"]
    assert sum(m.edits for m in street_trees) <= 1 and all(m.draft_accepted for m in street_trees)


def test_map_check_accepts_every_hand_written_demo_mapping(
    demo_dir: Path, demo_services: str
) -> None:
    loaded = load_config(ROOT / "gateway" / "demo" / "demo.yaml")
    reports = asyncio.run(check_config(loaded))
    assert len(reports) == 10
    assert [r.as_dict() for r in reports if not r.accepted] == []
    trees = next(r for r in reports if (r.tenant, r.collection) == ("muenchen", "baeume"))
    assert trees.items == trees.valid == 3500
