"""The container image's essentials, read from the Dockerfile (this machine cannot build it:
no registry for the base image): a non-root user, port 8000, `twinbridge serve` on 0.0.0.0
as the entrypoint, a health check on /health, no secret baked in, and a build context that
holds the sources and nothing local. The entrypoint's arguments are run through the real
CLI (the server itself replaced) with the Kubernetes configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway import cli
from gateway.metrics import MULTIPROCESS_ENV
from gateway.server import CONFIG_ENV
from tests.deploy.manifests import container, deployment_env, load

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = re.compile(r"SECRET|KEY|TOKEN|PASSWORD|DSN|REDIS", re.IGNORECASE)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]
    last_from = max(i for i, (word, _) in enumerate(found) if word == "FROM")
    return found[last_from:]


def dockerignore() -> list[str]:
    text = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def only(word: str) -> str:
    (value,) = [rest for w, rest in instructions() if w == word]
    return value


def exec_form(word: str) -> list[str]:
    value = json.loads(only(word))
    assert isinstance(value, list), f"{word} in exec form: signals reach the server"
    return value


def test_the_image_is_python_3_11_slim_bookworm_and_runs_as_a_non_root_user() -> None:
    assert only("FROM") == "python:3.11-slim-bookworm"
    user = only("USER").split(":")[0]
    assert user not in ("root", "0")
    assert user == str(
        load("deployment.yaml")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    )
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"pip install [^\n]*\s\.\s*$", text, re.MULTILINE), "installs the project"


def test_the_entrypoint_serves_on_all_interfaces_port_8000() -> None:
    entrypoint = exec_form("ENTRYPOINT")
    assert entrypoint[:2] == ["twinbridge", "serve"]
    assert entrypoint[entrypoint.index("--host") + 1] == "0.0.0.0"
    assert entrypoint[entrypoint.index("--port") + 1] == "8000"
    assert only("EXPOSE") == "8000"
    cmd = exec_form("CMD")
    assert cmd[cmd.index("--config") + 1] == "/etc/twinbridge/gateway.yaml"
    check = only("HEALTHCHECK")
    assert "http://127.0.0.1:8000/health" in check


def test_no_secret_is_baked_into_the_image() -> None:
    for word, rest in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not SECRET_NAMES.search(rest), f"{word} {rest}"
    ignored = dockerignore()
    assert ignored[0] == "*", "the build context is an allow-list"
    assert not [line for line in ignored if line.startswith("!") and "env" in line]


def test_every_copied_path_is_in_the_build_context() -> None:
    kept = {line[1:].rstrip("/") for line in dockerignore() if line.startswith("!")}
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = [
        source
        for args in re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE)
        for source in args.split()[:-1]
    ]
    assert copied and set(copied) <= kept
    assert all((ROOT / source).exists() for source in copied)
    for package in ("gateway", "connectors", "profiles", "conformance"):  # pyproject's packages
        assert package in copied


def test_the_image_command_line_starts_the_server_with_the_kubernetes_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """ENTRYPOINT + the Deployment's args, through the real CLI, up to uvicorn.run."""
    deployment_env(monkeypatch)
    for name in (CONFIG_ENV, MULTIPROCESS_ENV):  # serve sets them: undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    config = tmp_path / "gateway.yaml"
    config.write_text(load("configmap.yaml")["data"]["gateway.yaml"], encoding="utf-8")
    args = [*exec_form("ENTRYPOINT")[1:], *container()["args"]]
    args[args.index("--config") + 1] = str(config)
    started: dict[str, Any] = {}
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert (started["host"], started["port"], started["workers"]) == ("0.0.0.0", 8000, 2)
    # a CPU-limited pod imports slowly: uvicorn must not kill workers that are starting
    assert started["timeout_worker_healthcheck"] >= 30
