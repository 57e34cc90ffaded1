"""`twinbridge config check` loads every OIDC provider's JWKS (a file, or a URL on a
loopback server here) and names what would make its tokens fail: unreadable, an error
answer, not a JWKS, no key for the accepted algorithms. A broken provider fails the check
without hiding the others or the sources."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gateway.access.config import OidcProvider
from gateway.access.probe import ProviderReport, check_providers, probe_provider
from gateway.cli import app
from gateway.config import load_config
from tests.access.jwks_server import JwksServer
from tests.access.tokens import AUDIENCE, Signer, jwks
from tests.test_federation import PROFILE_FIELDS, write_trees

RSA, EC = Signer("rsa-1"), Signer("ec-1", "ec")


def _provider(n: int, **source: Any) -> dict[str, Any]:
    return {"issuer": f"https://login.example.org/realms/r{n}", "audience": AUDIENCE, **source}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the test connects


def write_config(folder: Path, server: JwksServer) -> Path:
    (folder / "good.json").write_text(jwks(RSA, EC))
    (folder / "discovery.json").write_text(json.dumps({"issuer": "x", "jwks_uri": "y"}))
    (folder / "ec-only.json").write_text(jwks(EC))
    (folder / "encryption.json").write_text(json.dumps({"keys": [{**RSA.jwk(), "use": "enc"}]}))
    server.documents["/certs"] = jwks(RSA)
    server.documents["/broken"] = "oops"
    server.statuses["/broken"] = 500
    server.documents["/login"] = "<html>log in first</html>"
    providers = {
        "file-ok": _provider(1, jwks_file="good.json"),
        "file-missing": _provider(2, jwks_file="gone.json"),
        "file-not-jwks": _provider(3, jwks_file="discovery.json"),
        "file-wrong-alg": _provider(4, jwks_file="ec-only.json", algorithms=["RS256", "PS256"]),
        "file-no-signing-key": _provider(5, jwks_file="encryption.json"),
        "url-ok": _provider(6, jwks_url=f"{server.url}/certs"),
        "url-500": _provider(7, jwks_url=f"{server.url}/broken"),
        "url-404": _provider(8, jwks_url=f"{server.url}/nothing"),
        "url-html": _provider(9, jwks_url=f"{server.url}/login"),
        "url-down": _provider(10, jwks_url=f"http://127.0.0.1:{_closed_port()}/certs"),
    }
    write_trees(folder / "trees.geojson", 2)
    trees = {
        "profile": "street-trees",
        "source": {"connector": "geojson", "path": "trees.geojson"},
        "mapping": {"properties": {f: f for f in PROFILE_FIELDS}},
    }
    tenants = {
        "hamburg": {
            "access": {"oidc": [{"provider": "file-ok"}, {"provider": "url-500"}]},
            "collections": {"trees": trees},
        },
        "leipzig": {
            "access": {"oidc": [{"provider": "file-ok"}]},
            "collections": {"trees": trees},
        },
    }
    path = folder / "gateway.yaml"
    path.write_text(yaml.safe_dump({"server": {"access": {"oidc": providers}}, "tenants": tenants}))
    return path


@pytest.fixture
def config(tmp_path: Path, server: JwksServer) -> Path:
    return write_config(tmp_path, server)


def reports(config: Path) -> dict[str, ProviderReport]:
    return {r.provider: r for r in asyncio.run(check_providers(load_config(config)))}


def test_each_provider_is_probed_and_a_good_one_names_its_keys(config: Path) -> None:
    found = reports(config)
    assert len(found) == 10
    ok = found["file-ok"]
    assert (ok.keys, ok.algorithms, ok.problems) == (2, ["RS256", "ES256"], [])
    assert ok.tenants == ["hamburg", "leipzig"]
    assert ok.source == str(config.parent / "good.json")
    assert (found["url-ok"].keys, found["url-ok"].problems) == (1, [])
    assert found["url-500"].tenants == ["hamburg"] and found["url-ok"].tenants == []


@pytest.mark.parametrize(
    ("provider", "problem"),
    [
        ("file-missing", "cannot read the JWKS file {folder}/gone.json: No such file"),
        ("file-not-jwks", "not a JWKS: a JWKS is an object with a 'keys' list"),
        ("file-wrong-alg", "no key verifies an accepted algorithm (RS256, PS256)"),
        ("file-no-signing-key", "the JWKS has no signing key"),
        ("url-500", "the JWKS URL {url}/broken answered 500 Internal Server Error"),
        ("url-404", "the JWKS URL {url}/nothing answered 404 Not Found"),
        ("url-html", "not a JWKS: not JSON"),
        ("url-down", "cannot fetch the JWKS URL http://127.0.0.1:"),
    ],
)
def test_a_broken_key_source_is_named_with_its_reason(
    config: Path, server: JwksServer, provider: str, problem: str
) -> None:
    report = reports(config)[provider]
    assert report.keys is None or report.keys == 0 or provider == "file-wrong-alg"
    assert report.algorithms == []
    (only,) = report.problems
    assert only.startswith(problem.format(folder=config.parent, url=server.url)), only


def test_a_key_of_another_type_is_named(config: Path) -> None:
    (only,) = reports(config)["file-wrong-alg"].problems
    assert "its keys: EC (pinned to ES256)" in only


def test_config_check_fails_on_a_broken_provider_and_still_reports_the_rest(
    config: Path,
) -> None:
    result = CliRunner().invoke(app, ["config", "check", str(config)], env={"COLUMNS": "400"})
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    sources = [line for line in lines if "geojson" in line]
    assert len(sources) == 2 and all("ok" in line for line in sources)  # both tenants' trees
    providers = {
        name: next(line for line in lines if f" {name} " in line)
        for name in ("file-ok", "url-ok", "url-500", "file-missing")
    }
    assert "RS256, ES256" in providers["file-ok"] and "ok" in providers["file-ok"]
    assert "answered 500" in providers["url-500"]
    assert "No such file" in providers["file-missing"]


def test_config_check_passes_when_every_provider_loads(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(jwks(RSA))
    write_trees(tmp_path / "trees.geojson", 1)
    config = {
        "server": {"access": {"oidc": {"city": _provider(1, jwks_file="good.json")}}},
        "tenants": {
            "hamburg": {
                "access": {"oidc": [{"provider": "city"}]},
                "collections": {
                    "trees": {
                        "profile": "street-trees",
                        "source": {"connector": "geojson", "path": "trees.geojson"},
                        "mapping": {"properties": {f: f for f in PROFILE_FIELDS}},
                    }
                },
            }
        },
    }
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["config", "check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "OIDC providers" in result.output and "RS256" in result.output


def test_a_credential_in_the_jwks_url_is_never_shown(server: JwksServer) -> None:
    """An operator may put a password or a token into the URL: reports and the start-up
    log name the URL without them."""
    host = server.url.removeprefix("http://")
    cfg = OidcProvider.model_validate(
        _provider(1, jwks_url=f"http://user:s3cret@{host}/broken?token=t0ken")
    )
    report = asyncio.run(probe_provider("p", cfg, Path("."), []))
    shown = " ".join([report.source, *report.problems])
    assert report.source == f"{server.url}/broken?…"
    assert report.problems and "s3cret" not in shown and "t0ken" not in shown
