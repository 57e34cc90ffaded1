"""The demo's own backends, in-process: one NGSI broker (NGSI-v2 and NGSI-LD) holding
Rotterdam's and Aarhus' sensor entities, and Hamburg's barrier-report REST API.

They let the demo reach a context broker and a proprietary API over HTTP as it would in
production, with no external service: one uvicorn server on a free loopback port per
process, started and seeded (the last day, hourly, up to now) on first use, its root in
TWINBRIDGE_DEMO_SERVICES for demo.yaml. With several workers each runs its own copy of the
same seed (values are a function of station and hour, so the copies agree).
"""

from __future__ import annotations

import asyncio
import os
import threading

from starlette.routing import Mount

ENV = "TWINBRIDGE_DEMO_SERVICES"
HOURS = 24
_lock = threading.Lock()
_url: str | None = None


def ensure_services() -> str:
    """The root URL of this process's demo services, started and seeded on the first call."""
    global _url
    with _lock:
        if _url is None:
            _url = _start()
        os.environ[ENV] = _url
        return _url


def _start() -> str:
    from gateway.demo.ngsi_seed import load_into_apps
    from gateway.demo.ngsibroker import create_app
    from gateway.demo.ngsibroker.serve import BrokerThread
    from gateway.demo.restapis import barriers

    app = create_app(v2=True, ld=True, extra=[Mount("/barriers", barriers.create_app())])
    # Seeded through the broker's own routes before it listens; in a thread of its own, as
    # the caller may be inside an event loop (uvicorn loads the app factory in one).
    failed: list[BaseException] = []

    def seed() -> None:
        try:
            asyncio.run(load_into_apps(app, app, hours_back=HOURS))
        except Exception as e:  # noqa: BLE001 - raised again in the caller's thread
            failed.append(e)

    seeding = threading.Thread(target=seed, name="demo-seed")
    seeding.start()
    seeding.join()
    if failed:
        raise RuntimeError(f"the demo's NGSI broker could not be seeded: {failed[0]}")
    return BrokerThread(app).start()
