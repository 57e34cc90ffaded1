"""The notification endpoint of each subscribed source: `POST /{tenant}/sync/ngsi/{source}/
notify`, outside the SensorThings resource space.

A broker proves itself with the shared secret header (constant-time compare): without it a
notification is a 401, with a wrong one a 403, in both cases before the body is read, so
nothing changes. The body is read within `max_body_bytes` (413 beyond), must be an NGSI-v2
or NGSI-LD notification (400 otherwise) and goes through the same upsert as a poll.
"""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.bodies import read_body
from gateway.config import ServerSettings
from gateway.errors import (
    Forbidden,
    GatewayError,
    InvalidParameter,
    NotFound,
    Unauthorized,
    UpstreamFailed,
)
from gateway.features.links import base_url
from gateway.sensorthings.encode import Links
from gateway.sensorthings.sync import metrics, subscribe
from gateway.sensorthings.sync.scheduler import SourceState, SyncScheduler

PATH = "/{tenant}/sync/ngsi/{source}/notify"
log = logging.getLogger("twinbridge.sensorthings.sync")


def _check_secret(state: SourceState, request: Request) -> None:
    sub = state.source.cfg.subscription
    assert sub is not None
    sent = request.headers.get(sub.secret_header)
    if sent is None:
        raise Unauthorized(f"a notification needs the shared secret in {sub.secret_header}")
    expected = subscribe.secret(state.source)
    if expected is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("the shared secret does not match")


def notification_route(scheduler: SyncScheduler, settings: ServerSettings) -> Route:
    async def notify(request: Request) -> Response:
        tenant, name = request.path_params["tenant"], request.path_params["source"]
        state = scheduler.source(tenant, name)
        if state is None or state.source.cfg.subscription is None:
            raise NotFound(f"no subscribed sync source '{name}' in tenant '{tenant}'")
        label, sub = state.source.label, state.source.cfg.subscription
        outcome = "refused"
        try:
            _check_secret(state, request)
            outcome = "too_large"
            body = await read_body(request, sub.max_body_bytes)
            outcome = "invalid"
            try:
                entities = subscribe.notified_entities(body)
            except subscribe.NotificationError as e:
                raise InvalidParameter("body", str(e)) from None
            outcome = "failed"
            # links of announcements: the clients' (server.base_url, or the latest client
            # request's), the notification's own Host (the broker's view) only without them
            links = state.service.last_links or Links(
                f"{base_url(request, settings)}/{tenant}/sta/v1.1"
            )
            parsed = [state.source.parse(e) for e in entities]
            try:
                await scheduler.apply(state, parsed, links)
            except GatewayError:
                raise
            except Exception as e:  # the store failed: the broker may retry
                raise UpstreamFailed(label, "the notification could not be stored", str(e)) from e
            outcome = "accepted"
        except GatewayError as e:
            peer = request.client.host if request.client else "?"
            log.warning("sync %s: notification from %s %s: %s", label, peer, outcome, e)
            raise
        finally:
            metrics.SYNC_NOTIFICATIONS.labels(label, outcome).inc()
        return Response(status_code=204)

    return Route(PATH, notify, methods=["POST"])
