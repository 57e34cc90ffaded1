"""The tenant policy: public reading, writes only with a key whose scope allows them."""

from __future__ import annotations

import base64
import hashlib

import pytest
from pydantic import ValidationError

from gateway.access import Access, TenantAccess
from gateway.errors import Forbidden, Unauthorized

WRITER, READER = "w-secret-1", "r-secret-2"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _access(public_read: bool = True) -> Access:
    settings = TenantAccess.model_validate(
        {
            "public_read": public_read,
            "api_keys": [
                {"id": "tree-app", "sha256": _hash(WRITER), "scopes": ["write:street-trees"]},
                {"id": "viewer", "sha256": _hash(READER), "scopes": ["read"]},
            ],
        }
    )
    return Access("hamburg", settings)


def test_reading_is_public_and_anonymous_by_default() -> None:
    assert _access().decide({}, "street-trees", "read").id == "anonymous"


def test_a_write_without_credentials_is_401_with_a_challenge() -> None:
    with pytest.raises(Unauthorized) as caught:
        _access().decide({}, "street-trees", "write")
    assert caught.value.headers()["WWW-Authenticate"] == 'Bearer realm="twinbridge/hamburg"'
    assert "write:street-trees" in caught.value.description


def test_a_key_writes_only_where_its_scope_says() -> None:
    access = _access()
    assert access.decide({"x-api-key": WRITER}, "street-trees", "write").id == "key:tree-app"
    with pytest.raises(Forbidden, match="write:land-use-plans"):
        access.decide({"x-api-key": WRITER}, "land-use-plans", "write")
    with pytest.raises(Forbidden):
        access.decide({"x-api-key": READER}, "street-trees", "write")


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {WRITER}"},
        {"authorization": "Basic " + base64.b64encode(f"any:{WRITER}".encode()).decode()},
    ],
)
def test_the_key_is_taken_from_bearer_and_basic_too(headers: dict[str, str]) -> None:
    assert _access().decide(headers, "street-trees", "write").id == "key:tree-app"


def test_an_unknown_key_is_401_even_for_public_reading() -> None:
    with pytest.raises(Unauthorized) as caught:
        _access().decide({"x-api-key": "guess"}, "street-trees", "read")
    assert 'error="invalid_token"' in caught.value.headers()["WWW-Authenticate"]


def test_closed_reading_needs_a_read_scope() -> None:
    access = _access(public_read=False)
    with pytest.raises(Unauthorized):
        access.decide({}, "street-trees", "read")
    with pytest.raises(Forbidden):
        access.decide({"x-api-key": WRITER}, "street-trees", "read")
    assert access.decide({"x-api-key": READER}, "street-trees", "read").id == "key:viewer"


@pytest.mark.parametrize("scope", ["admin", "write:", "read:a/b", "Write"])
def test_a_malformed_scope_is_refused_at_start_up(scope: str) -> None:
    with pytest.raises(ValidationError, match="scope"):
        TenantAccess.model_validate(
            {"api_keys": [{"id": "x", "sha256": _hash("k"), "scopes": [scope]}]}
        )


def test_a_key_in_clear_text_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        TenantAccess.model_validate({"api_keys": [{"id": "x", "sha256": "my-secret-key"}]})


def test_the_audit_line_names_who_and_what_but_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    from gateway.access.audit import audit

    principal = _access().decide({"x-api-key": WRITER}, "street-trees", "write")
    with caplog.at_level("INFO", logger="twinbridge.audit"):
        audit(principal, "create", "/hamburg/collections/street-trees/items/7", "hamburg/t", "201")
    (line,) = caplog.messages
    assert "principal=key:tree-app" in line and "action=create" in line
    assert WRITER not in line
