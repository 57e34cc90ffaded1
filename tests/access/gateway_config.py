"""A gateway with a public tenant `open`, a closed one `closed` (trees and SensorThings),
API keys and an OIDC provider (its keys in a JWKS file), for the end-to-end access tests."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

from gateway.config import LoadedConfig, parse_config
from tests.access.tokens import AUDIENCE, ISSUER, Signer, jwks
from tests.test_federation import PROFILE_FIELDS, write_trees

READER, TREE_READER, STA_WRITER = "reader-key-1", "tree-reader-key-2", "sta-writer-key-3"
ENV_KEY = "env-sta-key-4"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _trees(name: str) -> dict[str, Any]:
    return {
        "profile": "street-trees",
        "source": {"connector": "geojson", "path": name},
        "mapping": {"properties": {f: f for f in PROFILE_FIELDS}},
    }


def access_config(
    folder: Path, signer: Signer, closed_access: dict[str, Any] | None = None
) -> tuple[LoadedConfig, str]:
    """The configuration and the name of the environment variable holding ENV_KEY."""
    folder.mkdir(parents=True, exist_ok=True)
    write_trees(folder / "open.geojson", 2)
    write_trees(folder / "closed.geojson", 3, start=100)
    (folder / "jwks.json").write_text(jwks(signer))
    env = f"TB_ACCESS_KEY_{uuid.uuid4().hex[:12]}"
    os.environ[env] = ENV_KEY
    keys = [
        {"id": "viewer", "sha256": _hash(READER), "scopes": ["read"]},
        {"id": "tree-viewer", "sha256": _hash(TREE_READER), "scopes": ["read:trees"]},
        {"id": "sensor-app", "sha256": _hash(STA_WRITER), "scopes": ["write:sensorthings"]},
    ]
    sta = {"store": {"path": str(folder / "closed.sqlite")}, "api_key_env": env}
    data = {
        "server": {
            "access": {
                "oidc": {"city": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json"}}
            }
        },
        "tenants": {
            "open": {
                "collections": {"trees": _trees("open.geojson")},
                "sensorthings": {"store": {"path": str(folder / "open.sqlite")}},
            },
            "closed": {
                "collections": {"trees": _trees("closed.geojson")},
                "sensorthings": sta,
                "access": closed_access
                or {
                    "public_read": False,
                    "api_keys": keys,
                    "oidc": [{"provider": "city"}],
                },
            },
        },
    }
    return parse_config(data, "test.yaml", folder), env
