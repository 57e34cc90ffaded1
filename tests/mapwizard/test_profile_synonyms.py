"""The profiles' wizard vocabulary names what exists: every code a `code_synonyms` entry
lists is a code of that property (a typo would silently never match)."""

from __future__ import annotations

import pytest

import profiles
from gateway.mapwizard.targets import targets

FEATURES = [p for p in profiles.available() if profiles.get(p).kind == "features"]


@pytest.mark.parametrize("profile_id", FEATURES)
def test_code_synonyms_name_codes_of_their_property(profile_id: str) -> None:
    profile = profiles.get(profile_id)
    codes = {t.name: set(t.codes or ()) for t in targets(profile)}
    for prop, words in profile.code_synonyms.items():
        assert set(words) <= codes[prop], f"{profile_id}: code_synonyms.{prop}"


def test_every_features_profile_names_synonyms_for_every_property() -> None:
    for profile_id in FEATURES:
        profile = profiles.get(profile_id)
        unnamed = [t.name for t in targets(profile) if t.name not in profile.synonyms]
        assert not unnamed, f"{profile_id}: no synonyms for {unnamed}"
