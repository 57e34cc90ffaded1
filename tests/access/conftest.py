"""Fixtures of the access tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.access.jwks_server import JwksServer


@pytest.fixture
def server() -> Iterator[JwksServer]:
    """A JWKS server on 127.0.0.1, serving what a test puts in `documents`."""
    served = JwksServer()
    thread = threading.Thread(target=served.http.serve_forever, daemon=True)
    thread.start()
    yield served
    served.http.shutdown()
    served.http.server_close()
