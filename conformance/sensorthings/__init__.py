"""The SensorThings API 1.1 suite: sensing core (read only), request data / filtering on
the data present, create-update-delete (--allow-writes) and MQTT (--mqtt HOST:PORT); and,
as a suite of its own (`profile.py`), SensorThings profile conformance (--profile).

When the target has no `value` list of entity sets at its root, every check is skipped
with that reason, so `--suite all` against a Features endpoint stays clean."""

from __future__ import annotations

import importlib

from conformance.context import HOOKS, SuiteHooks, Test
from conformance.registry import SENSORTHINGS
from conformance.sensorthings import api

for _name in ("core", "filtering", "filters", "cud", "mqtt", "profile"):
    importlib.import_module(f"conformance.sensorthings.{_name}")


async def _subjects(t: Test) -> list[str]:
    return list(await api.entity_sets(t))


HOOKS[SENSORTHINGS] = SuiteHooks(declared=api.declared, subjects=_subjects, matches=api.matches)
