"""A TCP fault proxy on loopback, for provoking what real backends do when they break.

Toxiproxy is the field's tool for this but is not packaged here, so this is its core in
asyncio: a listener on 127.0.0.1 that forwards to a real server (PostgreSQL, a SensorThings
server) and, per mode, passes bytes through or misbehaves. The mode can change while
connections are open; each mode applies to bytes flowing back from the server, where a
broken backend shows:

- `pass`     forward both ways;
- `latency`  delay every chunk from the server by `latency` seconds;
- `drip`     send the server's answer `drip` bytes per second (a slow drip defeats
             per-read timeouts: each read gets a byte in time);
- `hang`     accept and read, never answer;
- `reset`    close the client's connection with a TCP reset as soon as it sends;
- `garbage`  answer whatever comes with random bytes, then close;
- `http500`  answer every request with an HTTP 500 (for HTTP upstreams).

Runs its own event loop in a thread, so tests using TestClient or subprocesses can use it.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

MODES = ("pass", "latency", "drip", "hang", "reset", "garbage", "http500")
HTTP_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n"
    b"content-length: 27\r\nconnection: close\r\n\r\n"
    b'{"message": "upstream down"}'[:27]
)


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.latency = 0.5
        self.drip = 50  # bytes per second
        self.port = 0
        self.connections = 0  # accepted so far: a source left alone opens none
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> FaultProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def set(self, mode: str, *, cut: bool = False) -> None:
        """Switch modes; `cut` also drops every open connection (a pool must reconnect
        through the new mode)."""
        assert mode in MODES, mode
        self.mode = mode
        if cut:
            asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(timeout=5)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        await self._cut()
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _cut(self) -> None:
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            if self.mode in ("hang", "reset", "garbage", "http500"):
                await self._misbehave(reader, writer)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                _abort(writer)
                return
            self._writers.add(up_writer)
            await asyncio.gather(
                self._pipe(reader, up_writer, towards_client=False),
                self._pipe(up_reader, writer, towards_client=True),
                return_exceptions=True,
            )
        finally:
            self._writers.discard(writer)

    async def _misbehave(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(65536)
        if self.mode == "hang":
            while await reader.read(65536):
                pass
            await asyncio.sleep(3600)
        elif self.mode == "reset":
            _abort(writer)
        elif data:
            writer.write(HTTP_500 if self.mode == "http500" else random.randbytes(4096))
            await writer.drain()
            writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, towards_client: bool
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if towards_client:
                    await self._deliver(chunk, writer)
                elif self.mode != "hang":
                    writer.write(chunk)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            _abort(writer) if self.mode == "reset" else writer.close()

    async def _deliver(self, chunk: bytes, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if mode == "hang":
            await asyncio.sleep(3600)
        elif mode == "latency":
            await asyncio.sleep(self.latency)
        elif mode == "drip":
            for i in range(len(chunk)):
                writer.write(chunk[i : i + 1])
                await writer.drain()
                await asyncio.sleep(1 / self.drip)
            return
        elif mode == "garbage":
            chunk = random.randbytes(len(chunk))
        elif mode == "reset":
            _abort(writer)
            return
        writer.write(chunk)
        await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a firewall does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextmanager
def fault_proxy(target_port: int) -> Iterator[FaultProxy]:
    proxy = FaultProxy(target_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
