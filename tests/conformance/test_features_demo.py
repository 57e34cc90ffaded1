"""The Features suite against TwinBridge's own demo: everything it runs passes (every
failure is a gateway bug), in process for every API root and against a real server (how
long that takes is measured by bench/conformance_run.py: a time limit here failed on a
loaded CI machine for reasons of its own)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.model import Status
from tests.conformance.conftest import LoopThread, explain, run_suite

ROOTS = ["", "/hamburg", "/leipzig", "/muenchen", "/rotterdam", "/aarhus"]
# Read live from a broker or an API, they state no temporal extent (finding one would mean
# reading every item): the datetime checks that need one skip, saying so; the stations'
# ASCII names give the accent-insensitive cases nothing to work on.
LIVE = {"luchtkwaliteit", "luftkvalitet", "barrieren", "accessibility-barriers"}


@pytest.mark.parametrize("root", ROOTS)
def test_demo_api_passes_every_check_it_runs(loop_thread: LoopThread, demo_app: Any, root: str):
    report = run_suite(loop_thread, demo_app, f"http://testserver{root}/")
    counts = report.summary()
    assert counts["fail"] == 0 and counts["error"] == 0, explain(report)
    assert counts["pass"] >= 55
    for r in report.results:
        if r.status is Status.SKIP:
            assert (
                "does not declare" in r.message
                or "declares none" in r.message
                or ("#/crs" in r.message or "allowed" in r.message or "permitted" in r.message)
                or (
                    r.subject in LIVE
                    and (
                        "no usable temporal extent" in r.message
                        or "the data offers no property suited to" in r.message
                    )
                )
            ), f"{r.label} skipped: {r.message}"


def test_cli_features_run_against_a_real_demo_server_passes(live_demo: str, tmp_path: Path):
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "conformance",
            f"{live_demo}/",
            "--quiet",
            "--json",
            str(tmp_path / "demo.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    took = time.perf_counter() - started
    doc = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))
    failures = [
        f"{r['check']}: {r['message'][:200]}"
        for r in doc["results"]
        if r["status"] in ("fail", "error")
    ]
    print(f"\nfeatures suite against {live_demo}: {doc['summary']} in {took:.1f} s")
    assert done.returncode == 0 and not failures, "\n".join(failures)


def test_cli_profile_run_against_a_real_demo_server_passes(live_demo: str, tmp_path: Path):
    """`twinbridge conformance URL --profile ev-charging-stations` on the federated collection."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "conformance",
            f"{live_demo}/",
            "--quiet",
            "--profile",
            "ev-charging-stations",
            "--collection",
            "ev-charging-stations",
            "--json",
            str(tmp_path / "profile.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    doc = json.loads((tmp_path / "profile.json").read_text(encoding="utf-8"))
    statuses = {r["check"]: r["status"] for r in doc["results"]}
    assert done.returncode == 0, done.stdout + done.stderr
    assert statuses["profile/schema"] == statuses["profile/code-lists"] == "pass", statuses
