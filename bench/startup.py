"""Time from `twinbridge serve` to the first answered items request (the issue asks < 2 s).

Run: .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

TWINBRIDGE = str(Path(sys.executable).with_name("twinbridge"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def once() -> float:
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen([TWINBRIDGE, "serve", "--port", str(port), "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}/collections/street-trees/items?limit=1"
    try:
        while time.monotonic() - started < 30:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.01)
        raise RuntimeError("no answer within 30 s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = [once() for _ in range(parser.parse_args().runs)]
    print(
        f"start-up to first items answer: median {statistics.median(runs):.2f} s, "
        f"max {max(runs):.2f} s over {len(runs)} runs"
    )


if __name__ == "__main__":
    main()
