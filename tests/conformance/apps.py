"""ASGI factories for serving the test servers over real HTTP (uvicorn --factory)."""

from __future__ import annotations

from typing import Any

from tests.conformance import breakers as B
from tests.conformance.fake_features import make_app


def fake_features() -> Any:
    return make_app()


def fake_features_without_next_links() -> Any:
    return B.rewrite_json(make_app(), B.on_path(r"/items$"), B.drop_links("next"))


def part4_gateway() -> Any:
    """TwinBridge over a copy of the demo's München trees (TWINBRIDGE_PART4_GPKG), which
    takes writes with the demo's key."""
    import os
    from pathlib import Path

    from gateway.app import create_app
    from tests.conformance.test_features_part4 import config

    return create_app(config(Path(os.environ["TWINBRIDGE_PART4_GPKG"])))
