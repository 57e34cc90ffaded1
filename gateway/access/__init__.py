"""Who may read and write what, per tenant: API keys and OIDC bearer tokens with scopes.

Reading is public unless a tenant says otherwise; writing is denied unless a credential
carries a `write` scope for the tenant (or for the collection). Routes ask `authorize()`;
it answers with the Principal (kept in `request.state.principal` for audit logs and rate
limits) or raises 401/403. Closed reading (`public_read: false`) is enforced for every
read route by `reading.ClosedReading`, before the response cache.
"""

from gateway.access.audit import audit
from gateway.access.config import ApiKey, TenantAccess
from gateway.access.policy import ANONYMOUS, Access, Principal, authorize

__all__ = ["ANONYMOUS", "Access", "ApiKey", "Principal", "TenantAccess", "audit", "authorize"]
