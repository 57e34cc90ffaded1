"""Shared fixtures: the demo data, an in-process client, a live gateway for real clients.

Fixtures for real services skip with one clear reason on a developer machine that lacks
them; with TWINBRIDGE_REQUIRE_SERVICES=1 (set by CI) they fail instead, so CI never passes
by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.server import demo_config

REQUIRE_SERVICES = os.environ.get("TWINBRIDGE_REQUIRE_SERVICES") == "1"


def missing_service(reason: str) -> None:
    """Skip locally, fail in CI."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def require_command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing_service(f"'{name}' is not installed (run scripts/setup-system.sh)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gateway.demo.generate import GENERATOR_VERSION, ensure_demo_data

    # One folder per generator version: worktrees with other generators never share one.
    shared = tmp_path_factory.getbasetemp().parent / f"demo-data-{GENERATOR_VERSION}"
    folder = ensure_demo_data(shared)
    os.environ["TWINBRIDGE_DEMO_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def demo_services() -> str:
    """The root of the demo's broker and REST API (one process per test worker)."""
    from gateway.demo.services import ensure_services

    return ensure_services()


@pytest.fixture(scope="session")
def demo_client(demo_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(demo_config())) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *args,
        ],
        env={**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a busy CI machine starts it slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gateway did not start within 90 s")


@pytest.fixture(scope="session")
def live_demo(demo_dir: Path) -> Iterator[str]:
    """A real `twinbridge serve` of the demo on a free loopback port."""
    proc, url = start_gateway({"TWINBRIDGE_DEMO_DIR": str(demo_dir)})
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
