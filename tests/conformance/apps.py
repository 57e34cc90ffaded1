"""ASGI factories for serving the test servers over real HTTP (uvicorn --factory)."""

from __future__ import annotations

from typing import Any

from tests.conformance import breakers as B
from tests.conformance.fake_features import make_app


def fake_features() -> Any:
    return make_app()


def fake_features_without_next_links() -> Any:
    return B.rewrite_json(make_app(), B.on_path(r"/items$"), B.drop_links("next"))
