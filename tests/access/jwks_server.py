"""A provider's JWKS URL on the loopback interface, for the OIDC tests (the fixture
`server`: tests/access/conftest.py)."""

from __future__ import annotations

from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JwksServer:
    """Serves `documents[path]` (with `statuses[path]`, 200 by default; 404 for a path
    without a document) and counts the requests per path."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {}
        self.statuses: dict[str, int] = {}
        self.hits: Counter[str] = Counter()
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                served.hits[self.path] += 1
                body = served.documents.get(self.path)
                self.send_response(served.statuses.get(self.path, 200 if body is not None else 404))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write((body or "{}").encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
