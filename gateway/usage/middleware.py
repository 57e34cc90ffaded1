"""Counts each answer for the usage KPIs: its status and the body bytes as they are sent
(streamed answers included, a transfer cut short counts what went out). Everything else
is `Usage.record`'s business, after the answer is sent."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import INTERNAL_KEY
from gateway.usage.service import Usage

log = logging.getLogger("twinbridge.usage")


class UsageCounter:
    def __init__(self, app: ASGIApp, usage: Usage) -> None:
        self.app = app
        self.usage = usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(INTERNAL_KEY):
            await self.app(scope, receive, send)
            return
        status, size = 0, 0

        async def counting(message: Message) -> None:
            nonlocal status, size
            await send(message)
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                status = message["status"]

        try:
            await self.app(scope, receive, counting)
        finally:
            if status:
                try:
                    self.usage.record(scope, status, size)
                except Exception:  # counting must never break serving
                    log.exception("usage: an answer could not be counted")
