"""The application factory uvicorn workers import: configuration comes from the environment
(TWINBRIDGE_CONFIG; unset means the embedded demo), so every worker builds the same app."""

from __future__ import annotations

import os
from importlib import resources

from starlette.applications import Starlette

from gateway import protocol
from gateway.app import create_app
from gateway.config import LoadedConfig, load_config
from gateway.heap import freeze_after_startup
from gateway.limits import LimitsMiddleware, RequestLimits

CONFIG_ENV = "TWINBRIDGE_CONFIG"


def demo_config() -> LoadedConfig:
    """The embedded demo: files generated on first use into a cache folder, and the
    in-process NGSI broker and REST API it reads over loopback HTTP."""
    from gateway.demo.generate import ensure_demo_data
    from gateway.demo.services import ensure_services

    os.environ["TWINBRIDGE_DEMO_DIR"] = str(ensure_demo_data())
    ensure_services()
    with resources.as_file(resources.files("gateway.demo") / "demo.yaml") as path:
        return load_config(path)


def configured() -> LoadedConfig:
    path = os.environ.get(CONFIG_ENV)
    return load_config(path) if path else demo_config()


def app_factory() -> Starlette:
    """The app as a server runs it: with the limits on the request head, enforced by
    `gateway.protocol` under `twinbridge serve` and by a middleware under any server."""
    loaded = configured()
    server = loaded.config.server
    limits = RequestLimits(server.max_url_length, server.max_header_bytes)
    protocol.configure(limits)
    app = create_app(loaded)
    app.add_middleware(LimitsMiddleware, limits=limits)
    freeze_after_startup(app)
    return app
