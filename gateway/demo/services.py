"""The demo's own backends: one NGSI broker (NGSI-v2 and NGSI-LD) holding Rotterdam's and
Aarhus' sensor entities, Hamburg's barrier-report REST API and its tide gauges in the style
of PEGELONLINE (`/pegel`), München's noise monitors (`/laerm`), car parks (`/parken`) and
barrier reports as Open311 service requests (`/maengelmelder`).

They let the demo reach a context broker and a proprietary API over HTTP as it would in
production, with no external service. They run in a process of their own, as a real
broker does: in a thread of the gateway's process they would wait for the interpreter lock
behind every busy request and miss the gateway's deadlines. One per gateway process,
started on first use on a free loopback port, seeded (the last day, hourly, up to now),
its root in TWINBRIDGE_DEMO_SERVICES for demo.yaml; it ends with its parent.

    python -m gateway.demo.services PARENT_PID   # prints "port N" once it listens
"""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import subprocess
import sys
import threading
import time

import httpx

ENV = "TWINBRIDGE_DEMO_SERVICES"
HOURS = 24
START_TIMEOUT = 60.0
_lock = threading.Lock()
_url: str | None = None


def ensure_services() -> str:
    """The root URL of this process's demo services, started and seeded on the first call."""
    global _url
    with _lock:
        if _url is None:
            _url = _spawn()
        os.environ[ENV] = _url
        return _url


def _spawn() -> str:
    child = subprocess.Popen(
        [sys.executable, "-m", "gateway.demo.services", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    atexit.register(_stop, child)
    assert child.stdout is not None
    line = child.stdout.readline().split()  # "port N" once seeded and bound
    if len(line) != 2 or line[0] != "port":
        child.kill()
        raise RuntimeError(f"the demo services did not start (exit code {child.poll()})")
    url = f"http://127.0.0.1:{line[1]}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and child.poll() is None:
        try:
            if httpx.get(f"{url}/version", timeout=2).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    child.kill()
    raise RuntimeError(f"the demo services did not answer on {url}")


def _stop(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()


def _app() -> object:
    from starlette.routing import Mount

    from gateway.demo.ngsi_seed import load_into_apps
    from gateway.demo.ngsibroker import create_app
    from gateway.demo.restapis import barriers, laerm, open311, parken, pegel

    mounts = [
        Mount("/barriers", barriers.create_app()),
        Mount("/pegel", pegel.create_app()),
        Mount("/laerm", laerm.create_app()),
        Mount("/parken", parken.create_app()),
        Mount("/maengelmelder", open311.create_app()),
    ]
    app = create_app(v2=True, ld=True, extra=mounts)
    asyncio.run(load_into_apps(app, app, hours_back=HOURS))  # through its own routes
    return app


def _orphaned(parent: int) -> None:
    """Ends this process when the gateway that started it is gone (even if killed)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main(argv: list[str]) -> None:
    import uvicorn

    parent = int(argv[0])
    app = _app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    threading.Thread(target=_orphaned, args=(parent,), daemon=True).start()
    print(f"port {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
