"""Connector discovery through the `twinbridge.connectors` entry-point group.

The built-ins are registered in pyproject.toml exactly as a third-party package would
register its own, so there is one way in for every connector.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from connectors.base import FeatureConnector

GROUP = "twinbridge.connectors"


@cache
def available() -> dict[str, str]:
    """Connector name -> 'module:Class' as registered."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def connector_class(name: str) -> type[FeatureConnector]:
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, FeatureConnector)):
                raise TypeError(f"entry point '{name}' ({ep.value}) is not a FeatureConnector")
            return cls
    known = ", ".join(sorted(available())) or "none installed"
    raise LookupError(f"unknown connector '{name}' (available: {known})")
