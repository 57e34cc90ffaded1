"""The Masterportal test page, bundled at test time and served from another origin than the
gateway, and a demo gateway that takes writes (with Mosquitto behind it, or with none).

The page (index.html + main.js and its modules) is bundled by esbuild from web/node_modules
into a temporary folder, never committed, and served by a small http.server on its own
loopback port: every call to the gateway is a cross-origin call, as from a Masterportal
installed anywhere.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.browser.conftest import WEB, node_modules
from tests.conftest import missing_service, start_gateway

HERE = Path(__file__).parent
BROKER = ("127.0.0.1", 1883)


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main.js and what it imports (Masterportal's oaf.js, OpenLayers, proj4, mqtt.js) in one
    file next to index.html."""
    modules = node_modules()
    out = tmp_path_factory.mktemp("masterportal-page")
    esbuild = modules / ".bin" / "esbuild"
    subprocess.run(
        [
            str(esbuild),
            str(HERE / "main.js"),
            "--bundle",
            "--format=esm",
            "--platform=browser",
            f"--outfile={out / 'main.js'}",
            "--log-level=warning",
        ],
        check=True,
        cwd=WEB,
        env={**os.environ, "NODE_PATH": str(modules)},  # the page's imports live in web/
        timeout=120,
    )
    shutil.copy(HERE / "index.html", out / "index.html")
    return out


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture(scope="session")
def page_origin(bundle: Path) -> Iterator[str]:
    """The test page's origin: another loopback port than any gateway."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=bundle))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def portal(page: Any, page_origin: str) -> Any:
    """The test page loaded and ready; `page` fails the test on any console error or failed
    request and saves a screenshot."""
    page.goto(f"{page_origin}/index.html")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    return page


def broker_listening() -> bool:
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError:
        return False
    return True


def demo_config_file(folder: Path, edit: Callable[[dict[str, Any]], None] | None) -> Path:
    """The demo's configuration file, changed by `edit`, written into `folder`."""
    with resources.as_file(resources.files("gateway.demo") / "demo.yaml") as path:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if edit is not None:
        edit(config)
    config_file = folder / "twinbridge.yaml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return config_file


class WritableDemo:
    """A `twinbridge serve` of the demo on a copy of its data, with the STA API key set."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key


@pytest.fixture(scope="module", params=["mosquitto", "no-broker"])
def writable_demo(
    request: pytest.FixtureRequest,
    demo_dir: Path,
    demo_services: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WritableDemo]:
    """The demo with writes on: once bridged to Mosquitto on 1883 (`server.sensorthings.mqtt`,
    topics under a unique prefix so parallel runs do not meet), once with no broker, where
    the gateway's own broker must carry live updates (the README's first command)."""
    folder = tmp_path_factory.mktemp("writable-demo")
    data = shutil.copytree(demo_dir, folder / "data")  # the shared demo data stays untouched

    def bridged(config: dict[str, Any]) -> None:
        config["server"]["sensorthings"] = {"mqtt": {"host": BROKER[0], "port": BROKER[1]}}
        prefix = f"tb-mp-{uuid.uuid4().hex[:10]}/"
        config["tenants"]["hamburg"]["sensorthings"]["mqtt"] = {"topic_prefix": prefix}

    if request.param == "mosquitto" and not broker_listening():
        missing_service("Mosquitto is not listening on 127.0.0.1:1883")
    config_file = demo_config_file(folder, bridged if request.param == "mosquitto" else None)
    key = secrets.token_urlsafe(16)
    env = {
        "TWINBRIDGE_DEMO_DIR": str(data),
        "TWINBRIDGE_DEMO_STA_KEY": key,
        "TWINBRIDGE_DEMO_SERVICES": demo_services,
    }
    proc, url = start_gateway(env, "--config", str(config_file))
    try:
        yield WritableDemo(url, key)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
