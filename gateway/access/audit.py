"""One log line for every write: who, what, which source, with what result.

Operators keep the `twinbridge.audit` logger's lines (a file, a SIEM) apart from the request
log. Never a key, token or body: the principal's id, the action, the target and the outcome.
"""

from __future__ import annotations

import logging

from gateway.access.policy import ANONYMOUS, Principal
from gateway.context import REQUEST_ID

log = logging.getLogger("twinbridge.audit")


def audit(principal: Principal | None, action: str, target: str, source: str, result: str) -> None:
    """`action`: create, replace, update, delete; `target`: the resource's path (tenant,
    collection, id); `source`: the configured source name; `result`: its status and what
    happened (`201 created`, `412 stale`, `502 source failed`). A token's principal also
    names its issuer."""
    who = principal or ANONYMOUS
    log.info(
        "write principal=%s action=%s target=%s source=%s result=%s request=%s%s",
        who.id,
        action,
        _printable(target),
        source,
        result,
        REQUEST_ID.get(),
        f" issuer={_printable(who.issuer)}" if who.issuer else "",
    )


def _printable(text: str) -> str:
    """A path may carry a percent-decoded line break: it must not start a forged line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
