"""What the feature benchmarks share: server processes, pygeoapi's configuration, wrk, the
results file and the run harness (signals, a temporary folder, every server stopped at the
end). Each benchmark script keeps only its own data, requests and table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console

BIN = Path(sys.executable).parent
Process = subprocess.Popen[bytes]
console = Console(width=max(Console().width, 120))


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> Process:
    """Start a server in its own process group, so that its workers stop with it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def stop(proc: Process) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until_up(url: str, proc: Process, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}) before answering {url}:\n{tail(log)}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"no 200 from {url} within {timeout:.0f}s:\n{tail(log)}")


def launch(
    name: str,
    tmp: Path,
    procs: list[Process],
    command: Callable[[int], list[str]],
    ready: str,
    env: dict[str, str] | None = None,
) -> str:
    """Starts `command(port)` on a free port (output in tmp/<name>.log), appends it to
    `procs` and waits until `ready` (a path and query) answers 200; returns the base URL."""
    port, log = free_port(), tmp / f"{name}.log"
    procs.append(start(command(port), log, env))
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}{ready}", procs[-1], log)
    return base


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# --- pygeoapi ------------------------------------------------------------------------------


def pygeoapi_config(port: int, data: Path, extent: list[float]) -> dict[str, Any]:
    """A pygeoapi configuration with one collection `trees` (GeoJSON provider on `data`;
    a benchmark may replace the providers)."""
    url = f"http://127.0.0.1:{port}"
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    provider = {"type": "feature", "name": "GeoJSON", "data": str(data), "id_field": "id"}
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 100, "max_items": 10000},
            # safe_dump quotes this string; unquoted, {z}/{x}/{y} would not parse
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                **{"title": "bench", "description": "bench", "keywords": ["bench"]},
                **{"url": url, "terms_of_service": url},
            },
            "license": {"name": "CC-BY-4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench"},
            "contact": {"name": "bench"},
        },
        "resources": {
            "trees": {
                "type": "collection",
                "title": "Street trees",
                "description": "The Hamburg demo street trees as TwinBridge serves them",
                "keywords": ["trees"],
                "links": [],
                "extents": {"spatial": {"bbox": extent, "crs": crs84}},
                "providers": [provider],
            }
        },
    }


def pygeoapi_command(
    doc: dict[str, Any], tmp: Path, port: int, workers: int, env: dict[str, str]
) -> list[str]:
    """Writes `doc` and its OpenAPI document into `tmp`, points `env` at them and returns
    the gunicorn command that serves pygeoapi on `port`."""
    config, openapi = tmp / "pygeoapi.yml", tmp / "pygeoapi-openapi.yml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    env.update(PYGEOAPI_CONFIG=str(config), PYGEOAPI_OPENAPI=str(openapi))
    generate = [str(BIN / "pygeoapi"), "openapi", "generate", str(config), "--output-file"]
    done = subprocess.run([*generate, str(openapi)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"pygeoapi openapi generate failed:\n{done.stdout}{done.stderr}")
    bind = ["-w", str(workers), "-b", f"127.0.0.1:{port}"]
    return [str(BIN / "gunicorn"), *bind, "pygeoapi.flask_app:APP"]


# --- measuring and results -----------------------------------------------------------------


def wrk(
    url: str,
    duration: int,
    connections: int,
    timeout: int | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[float, str]:
    """Requests/s and the problems wrk saw (non-2xx responses, socket errors), if any.
    `timeout`: seconds before wrk counts a request as timed out (its default is 2);
    `headers`: sent with each request (wrk sends no Accept-Encoding of its own)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", url]
    if timeout is not None:
        cmd[1:1] = ["--timeout", f"{timeout}s"]
    for name, value in (headers or {}).items():
        cmd[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        sys.exit(f"cannot parse wrk output:\n{out}")
    problems = []
    if non2xx := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        problems.append(f"{non2xx.group(1)} non-2xx")
    if errors := re.search(r"Socket errors:.*", out):
        problems.append(errors.group(0).strip())
    return float(rps.group(1)), "; ".join(problems)


def save_results(
    path: Path, settings: dict[str, Any], packages: tuple[str, ...], rows: list[Any]
) -> None:
    """The results file: when, the run's settings, the packages' versions, the rows."""
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **settings,
        "versions": {p: version(p) for p in packages},
        "rows": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written to {path}")


# --- the run -------------------------------------------------------------------------------

Run = Callable[[argparse.Namespace, Path, list[Process]], None]


def main_with_servers(args: argparse.Namespace, run: Run, prefix: str) -> None:
    """`run(args, tmp, procs)` in a temporary folder; every process it appends to `procs`
    is stopped at the end, also on Ctrl-C and SIGTERM (even when started with `&`)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` runs
    procs: list[Process] = []
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        try:
            run(args, Path(tmp), procs)
        except KeyboardInterrupt:
            console.print("interrupted")
            sys.exit(130)
        finally:
            for proc in procs:
                stop(proc)
