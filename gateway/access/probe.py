"""`twinbridge config check` for the OIDC providers: load each provider's JWKS from the file
or URL the operator configured, as the gateway will at start-up, and say plainly what would
make its tokens fail: the file or URL cannot be read, the server answers an error, the
document is not a JWKS, or none of its keys verifies an algorithm the provider accepts.

Each provider is probed on its own: one that fails does not stop the others, nor the check
of the sources. Only the configured file or URL is read; nothing is discovered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gateway.access.config import OidcProvider
from gateway.access.jwks import (
    KEY_TYPES,
    JwksUnavailable,
    SigningKey,
    jwks_document,
    parse_jwks,
    shown_url,
    signs_with,
)
from gateway.config import LoadedConfig


@dataclass
class ProviderReport:
    provider: str
    source: str  # the JWKS file or URL
    tenants: list[str]
    keys: int | None = None  # signing keys read
    algorithms: list[str] = field(default_factory=list)  # accepted ones some key verifies
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # keys left out: worth knowing, not fatal


def _usable(keys: dict[str | None, SigningKey], cfg: OidcProvider) -> list[str]:
    return [alg for alg in cfg.algorithms if any(signs_with(k, alg) for k in keys.values())]


_KTY = (("RSA", "RS"), ("EC", "ES"), ("OKP", "Ed"))  # a JWK's `kty`, an algorithm family


def _kty(key: SigningKey) -> str:
    return next((kty for kty, family in _KTY if isinstance(key.key, KEY_TYPES[family])), "?")


def _key_kinds(keys: dict[str | None, SigningKey]) -> str:
    """What the keys are, in a JWKS's words: `kty` and any `alg` pin."""
    kinds = sorted({_kty(k) for k in keys.values()})
    pinned = sorted({k.alg for k in keys.values() if k.alg})
    return ", ".join(kinds) + (f" (pinned to {', '.join(pinned)})" if pinned else "")


async def probe_provider(
    name: str, cfg: OidcProvider, base_dir: Path, tenants: list[str]
) -> ProviderReport:
    file = base_dir / cfg.jwks_file if cfg.jwks_file is not None else None
    source = str(file) if file else shown_url(str(cfg.jwks_url))
    report = ProviderReport(name, source, tenants)
    try:
        document = await jwks_document(cfg, file)
        keys = parse_jwks(document, report.notes)
    except (JwksUnavailable, ValueError) as e:
        report.problems.append(str(e))
        return report
    report.keys = len(keys)
    report.algorithms = _usable(keys, cfg)
    accepted = ", ".join(cfg.algorithms)
    if not keys:
        report.problems.append("the JWKS has no signing key the gateway can read")
    elif not report.algorithms:
        report.problems.append(
            f"no key verifies an accepted algorithm ({accepted}); its keys: {_key_kinds(keys)}"
        )
    return report


async def check_providers(loaded: LoadedConfig) -> list[ProviderReport]:
    """One report per provider in `server.access.oidc`, naming the tenants that accept it."""
    config = loaded.config
    reports = []
    for name, cfg in config.server.access.oidc.items():
        tenants = [
            tid
            for tid, tenant in config.tenants.items()
            if any(rule.provider == name for rule in tenant.access.oidc)
        ]
        reports.append(await probe_provider(name, cfg, loaded.base_dir, tenants))
    return reports


__all__ = ["ProviderReport", "check_providers", "probe_provider"]
