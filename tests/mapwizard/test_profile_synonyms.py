"""The profiles' wizard vocabulary names what exists: every code a `code_synonyms` entry
lists is a code of that property (a typo would silently never match), and the `drafting:`
hints are checked when a profile loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

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


def test_drafting_hints_are_checked_when_the_profile_loads(tmp_path: Path) -> None:
    source = Path(profiles.get("buildings").path)
    for bad, message in (
        ({"condition": {"default": "ok"}}, "not on the property's code list"),
        ({"height_m": {"aggregate": "mean"}}, "max, min or sum"),
        ({"height_m": {"above": "terrain"}}, "unknown properties"),
        ({"height_m": {"hint": 1}}, "unknown hints"),
    ):
        folder = tmp_path / "p"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(source, folder)
        meta = yaml.safe_load((folder / "profile.yaml").read_text("utf-8"))
        meta["drafting"] = bad
        (folder / "profile.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), "utf-8")
        with pytest.raises(profiles.ProfileError, match=message):
            profiles.load.__wrapped__(folder)
