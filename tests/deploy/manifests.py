"""The manifests of deploy/kubernetes/ as data, and the Deployment's environment for tests
that load the ConfigMap's gateway YAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import LoadedConfig, parse_config

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(p.name for p in FOLDER.glob("*.yaml") if p.name != "kustomization.yaml")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((FOLDER / name).read_text(encoding="utf-8"))


def pod_spec() -> dict[str, Any]:
    return load("deployment.yaml")["spec"]["template"]["spec"]


def container() -> dict[str, Any]:
    (only,) = pod_spec()["containers"]
    return only


def deployment_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The Deployment's environment in this process, and nothing of the test machine's that
    a ${VAR} could pick up by chance: literal values as given, secrets as the Secret's
    placeholders."""
    placeholders = load("secret.yaml")["stringData"]
    env = {}
    for entry in container()["env"]:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        else:
            env[entry["name"]] = placeholders[entry["valueFrom"]["secretKeyRef"]["key"]]
    for name in re.findall(r"\$\{(\w+)\}", load("configmap.yaml")["data"]["gateway.yaml"]):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def gateway_yaml() -> dict[str, Any]:
    return yaml.safe_load(load("configmap.yaml")["data"]["gateway.yaml"])


def parsed(data: dict[str, Any]) -> LoadedConfig:
    return parse_config(data, "deploy/kubernetes/configmap.yaml", FOLDER)
