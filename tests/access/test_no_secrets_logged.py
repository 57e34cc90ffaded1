"""Keys and tokens leave no trace in any log line (request log, error log, audit log,
usage) nor in an error answer, whether the request succeeds or is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.access.gateway_config import ENV_KEY, READER, STA_WRITER, access_config
from tests.access.tokens import Signer

THINGS = "/closed/sta/v1.1/Things"


def test_no_key_or_token_appears_in_logs_or_error_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    signer = Signer("k1")
    loaded, _ = access_config(tmp_path, signer)
    good = signer.token(scope="twinbridge:closed:read twinbridge:closed:write:sensorthings")
    expired = signer.token(scope="twinbridge:closed:read", exp=1, iat=0)
    forged = Signer("k1").token()
    secrets = [READER, STA_WRITER, ENV_KEY, "wrong-key-5", good, expired, forged]
    answers: list[str] = []
    with caplog.at_level(logging.DEBUG), TestClient(create_app(loaded)) as client:
        for key in (READER, "wrong-key-5"):
            for path in ("/closed/collections/trees/items", "/open/collections/trees/items"):
                answers.append(client.get(path, headers={"X-API-Key": key}).text)
        for token in (good, expired, forged):
            bearer = {"Authorization": f"Bearer {token}"}
            answers.append(client.get("/closed/collections/trees/items", headers=bearer).text)
            answers.append(client.post(THINGS, json={"name": "t"}, headers=bearer).text)
        for key in (STA_WRITER, ENV_KEY, READER):
            thing = {"name": "t", "description": "d"}
            answers.append(client.post(THINGS, json=thing, headers={"X-API-Key": key}).text)
        answers.append(client.post(THINGS, content=b"{", headers={"X-API-Key": ENV_KEY}).text)
        status = [r.status_code for r in [client.get("/closed/", headers={"X-API-Key": "x"})]]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert "principal=oidc:u-123" in logged and "principal=key:sensor-app" in logged
    assert "request_id=" in logged  # the request log was captured
    assert status == [401]
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in answer for answer in answers)
