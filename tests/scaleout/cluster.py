"""Two gateway instances (`twinbridge serve --workers 2` each) on one configuration behind one
HAProxy: what a scale-out deployment shares (the PostgreSQL database, the cursor secret and
Redis) and nothing else. Each instance runs in its own process group, so a test can
kill it whole (supervisor and workers) with SIGKILL, as a crashed host would."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

import profiles
from tests.conftest import free_port
from tests.postgis_fixtures import PostGIS
from tests.scaleout import haproxy

TENANT = "db"
STA = f"/{TENANT}/sta/v1.1"
KEY = "scaleout-key"
WORKERS = 2
TREE_FIELDS = [n for n in profiles.get("street-trees").properties() if n != "tenant"]


@dataclass(frozen=True)
class Shared:
    """What every instance is given alike: the database, the environment variables holding
    the secrets, and Redis (server.shared_state, under a key prefix of this run's own)."""

    db: PostGIS
    key_env: str = field(default_factory=lambda: f"TB_SCALEOUT_KEY_{secrets.token_hex(6)}")
    secret_env: str = field(default_factory=lambda: f"TB_SCALEOUT_CURSOR_{secrets.token_hex(6)}")
    cursor_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    redis_url: str | None = None
    redis_prefix: str = field(default_factory=lambda: f"tbscaleout:{secrets.token_hex(6)}:")

    def env(self) -> dict[str, str]:
        return {self.key_env: KEY, self.secret_env: self.cursor_secret}


def gateway_config(
    shared: Shared, closed_port: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The one configuration: a PostGIS collection, a SensorThings tenant whose store is
    PostgreSQL (writes with the key), and a city that is down (a source on a closed port),
    so /ready says 'degraded' while every instance stays in the load balancer. `extra`
    adds `server` keys and `tenants` (a module's own cluster)."""
    trees = {
        "profile": "street-trees",
        "source": {"connector": "postgis", **shared.db.options("trees", pool_max_size=2)},
        "mapping": {"id": "fid", "properties": {n: n for n in TREE_FIELDS}},
    }
    down = {"source": {"connector": "postgis", **shared.db.options("trees", port=closed_port)}}
    server: dict[str, Any] = {"cursor_secret": f"${{{shared.secret_env}}}"}
    if shared.redis_url is not None:  # server.shared_state (Redis), a prefix of its own
        server["shared_state"] = {"redis_url": shared.redis_url, "key_prefix": shared.redis_prefix}
    sta = {
        "store": {"kind": "postgres", "dsn": shared.db.dsn, "schema": "sta_scaleout"},
        "api_key_env": shared.key_env,
    }
    tenant = {"collections": {"trees": trees}, "sensorthings": sta}
    tenants = {TENANT: tenant, "down": {"collections": {"x": down}}}
    if extra is not None:
        server.update(extra.get("server", {}))
        tenants.update(extra.get("tenants", {}))
    return {"server": server, "tenants": tenants}


@dataclass
class Instance:
    """One `twinbridge serve --workers 2`, the leader of its own process group."""

    name: str
    port: int
    command: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 takes all of it
            )

    def wait_until_up(self, within: float = 90) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.name} exited: {self.log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start within {within:.0f} s")

    def restart(self) -> None:
        """The same command on the same port (a crashed host coming back)."""
        self.start()
        self.wait_until_up()

    def kill(self) -> None:
        """SIGKILL to the whole process group: supervisor and workers die at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@dataclass
class Cluster:
    instances: list[Instance]
    proxy: haproxy.HAProxy
    shared: Shared
    config: Path

    @property
    def url(self) -> str:
        return self.proxy.url

    def by_name(self, name: str) -> Instance:
        return next(i for i in self.instances if i.name == name)

    def stop(self) -> None:
        self.proxy.stop()
        for instance in self.instances:
            instance.stop()


def start_cluster(
    folder: Path, shared: Shared, count: int = 2, extra: dict[str, Any] | None = None
) -> Cluster:
    """`count` instances on one config file (gateway_config with `extra`), each with WORKERS
    workers, then HAProxy once every instance is healthy and has been checked UP."""
    config = folder / "gateway.yaml"
    document = gateway_config(shared, free_port(), extra)
    config.write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {**os.environ, **shared.env()}
    instances = []
    for n in range(1, count + 1):
        port = free_port()
        command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)]
        command += ["--log-level", "warning"]
        instances.append(Instance(f"g{n}", port, command, env, folder / f"g{n}.log"))
    for instance in instances:  # start together, wait together: two cores are busy enough
        instance.start()
    try:
        for instance in instances:
            instance.wait_until_up()
        proxy = haproxy.start(folder, {i.name: i.port for i in instances})
    except BaseException:
        for instance in instances:
            instance.stop()
        raise
    cluster = Cluster(instances, proxy, shared, config)
    try:
        for instance in instances:
            proxy.wait_for(instance.name, "UP")
    except BaseException:
        cluster.stop()
        raise
    return cluster
