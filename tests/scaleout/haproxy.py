"""One HAProxy process in front of gateway instances, the way the README's scale-out example
runs it: roundrobin, a health check on `GET /ready`, connection failures retried on another
instance (a request that reached an instance is never replayed: a POST is not idempotent).
Its admin socket tells the tests what HAProxy thinks of each instance (UP, DOWN)."""

from __future__ import annotations

import csv
import io
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port, require_command

# Checks every 200 ms, 2 failures take an instance out, 2 successes bring it back: a dead
# instance is DOWN within about half a second (production: inter 2s fall 3 rise 2).
CHECK = "inter 200ms fall 2 rise 2"

CONFIG = """\
global
    maxconn 512
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 500ms
    timeout client 30s
    timeout server 30s
    # a refused connection goes at once to another instance; a request that reached one
    # is never sent again (retry-on conn-failure only)
    retries 2
    option redispatch 1
    retry-on conn-failure

frontend gateway
    bind 127.0.0.1:{port}
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    # which instance answered, for the tests (a production config may leave it out)
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


def render(port: int, socket_path: Path, servers: dict[str, int]) -> str:
    lines = "\n".join(
        f"    server {name} 127.0.0.1:{p} check {CHECK}" for name, p in servers.items()
    )
    return CONFIG.format(port=port, socket=socket_path, servers=lines)


@dataclass
class HAProxy:
    url: str
    socket_path: Path
    proc: subprocess.Popen[bytes]

    def states(self) -> dict[str, str]:
        """Each server's status as `show stat` gives it: UP, DOWN, 'UP 1/2' (going down)…"""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.socket_path))
            s.sendall(b"show stat\n")
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
        rows = csv.DictReader(io.StringIO(raw.decode().lstrip("# ")))
        return {
            r["svname"]: r["status"]
            for r in rows
            if r["pxname"] == "instances" and r["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_for(self, server: str, status: str, within: float = 15) -> float:
        """Seconds until HAProxy reports `server` in `status`; fails after `within`."""
        started = time.monotonic()
        seen = None
        while time.monotonic() - started < within:
            seen = self.states().get(server)
            if seen == status:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"HAProxy still says {server} is {seen!r}, not {status}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start(folder: Path, servers: dict[str, int]) -> HAProxy:
    """HAProxy on a free port with a generated config in `folder`, in the foreground."""
    binary = require_command("haproxy")
    port, socket_path = free_port(), folder / "haproxy.sock"
    config = folder / "haproxy.cfg"
    config.write_text(render(port, socket_path, servers), encoding="utf-8")
    checked = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()
    log = (folder / "haproxy.log").open("wb")
    proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        assert proc.poll() is None, f"haproxy exited: {(folder / 'haproxy.log').read_text()}"
        assert time.monotonic() < deadline, "haproxy did not open its stats socket in 10 s"
        time.sleep(0.05)
    return HAProxy(f"http://127.0.0.1:{port}", socket_path, proc)
