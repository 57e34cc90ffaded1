"""`twinbridge conformance` as a user runs it: against servers on real sockets, with
every report written, plain progress lines when not on a terminal, and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TWINBRIDGE = [sys.executable, "-m", "gateway.cli"]


def _serve(factory: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{factory} did not start")


@pytest.fixture(scope="module")
def good() -> Iterator[str]:
    proc, url = _serve("tests.conformance.apps:fake_features")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def bad() -> Iterator[str]:
    proc, url = _serve("tests.conformance.apps:fake_features_without_next_links")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def twinbridge(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*TWINBRIDGE, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


def test_a_conformant_server_exits_0_and_gets_every_report(good: str, tmp_path: Path):
    files = {ext: tmp_path / f"report.{ext}" for ext in ("json", "xml", "html")}
    done = twinbridge(
        "conformance",
        f"{good}/",
        "--json",
        str(files["json"]),
        "--junit",
        str(files["xml"]),
        "--html",
        str(files["html"]),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(files["json"].read_text(encoding="utf-8"))
    assert doc["summary"]["fail"] == 0 and doc["summary"]["pass"] > 80
    assert ET.parse(files["xml"]).getroot().get("failures") == "0"
    assert files["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "PASS  core/root-op" in done.stderr  # plain lines: not a terminal


def test_a_failing_server_exits_1(bad: str, tmp_path: Path):
    done = twinbridge(
        "conformance", "run", f"{bad}/", "--json", str(tmp_path / "r.json"), "--quiet"
    )
    assert done.returncode == 1
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    failed = {r["check"] for r in doc["results"] if r["status"] == "fail"}
    assert failed == {"core/fc-next-1"}


def test_compare_writes_one_page_for_both(good: str, bad: str, tmp_path: Path):
    page = tmp_path / "compare.html"
    done = twinbridge(
        "conformance", "compare", f"{good}/", f"{bad}/", "--html", str(page), "--quiet"
    )
    assert done.returncode == 1
    html = page.read_text(encoding="utf-8")
    assert good in html and bad in html and "core/fc-next-1" in html


def test_an_unknown_profile_is_a_usage_error(good: str):
    done = twinbridge(
        "conformance", f"{good}/", "--profile", "no-such-profile", "--collection", "x"
    )
    assert done.returncode == 2
    assert "unknown profile" in done.stderr
