"""The security of a tenant's OpenAPI document: its schemes in `components`, and on a
closed tenant (`public_read: false`) the requirement on every read too. The write
operations carry theirs already (gateway.features.writeapi); public reads carry none."""

from __future__ import annotations

from typing import Any

from gateway.access.openapi import ApiSecurity

METHODS = ("get", "head", "post", "put", "patch", "delete")
_READ_REFUSALS = {
    "401": "A credential with a read scope of the tenant is needed (WWW-Authenticate says how).",
    "403": "The credential lacks the read scope.",
}


def secure(doc: dict[str, Any], security: ApiSecurity | None) -> None:
    if security is None:
        return
    doc["components"]["securitySchemes"] = security.schemes
    if security.public_read:
        return
    for operations in doc["paths"].values():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None or "security" in operation:
                continue
            operation["security"] = security.requirement
            responses = operation["responses"]
            for status, description in _READ_REFUSALS.items():
                if status not in responses:
                    responses[status] = {"description": description}
