"""The corpus itself: big enough, every category on every target, the same on every run."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.hostile.corpus import CATEGORIES, Surface
from tests.hostile.edge import cases as edge_cases
from tests.hostile.targets import FILES, POSTGIS, UPSTREAM, corpus


@pytest.mark.parametrize("surface", [FILES, POSTGIS, UPSTREAM], ids=lambda s: s.label)
def test_every_category_has_many_cases_on_every_target(surface: Surface) -> None:
    cases = corpus(surface)
    by_category = Counter(c.category for c in cases)
    assert set(by_category) == set(CATEGORIES)
    assert min(by_category.values()) >= 20, by_category
    assert {c.facade for c in cases} == ({"ogc", "sta"} if surface.items else {"sta"})
    assert all(c.why for c in cases if c.expect == "2xx")


def test_the_corpus_is_large_and_deterministic() -> None:
    total = sum(len(corpus(s)) for s in (FILES, POSTGIS, UPSTREAM)) + len(list(edge_cases()))
    assert total >= 5000
    first = [(c.id, c.target, c.body) for c in corpus(FILES)]
    assert first == [(c.id, c.target, c.body) for c in corpus(FILES)]
