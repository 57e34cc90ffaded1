"""deploy/kubernetes/: every manifest is valid for Kubernetes (the JSON schemas that the
kubernetes-validate package ships, strict: an unknown or misspelt field fails; no network),
the pieces fit together (names, labels, ports, secret keys), and the ConfigMap's gateway
YAML is a configuration the gateway itself accepts, with nothing but the Deployment's
environment. The probes match what the app answers: /ready stays 200 when a city is down."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.conftest import free_port
from tests.deploy.manifests import (
    FOLDER,
    MANIFESTS,
    container,
    deployment_env,
    gateway_yaml,
    load,
    parsed,
    pod_spec,
)

KUBERNETES = "1.30"  # oldest minor still supported by the big managed offerings


@pytest.mark.parametrize("name", MANIFESTS)
def test_each_manifest_is_valid_kubernetes(name: str) -> None:
    for document in yaml.safe_load_all((FOLDER / name).read_text(encoding="utf-8")):
        assert kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_the_validation_catches_a_misspelt_field() -> None:
    deployment = load("deployment.yaml")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGett"] = probe.pop("httpGet")
    with pytest.raises(kubernetes_validate.ValidationError, match="httpGett"):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_kustomization_applies_every_manifest() -> None:
    assert sorted(load("kustomization.yaml")["resources"]) == MANIFESTS


def test_the_configmap_holds_a_configuration_the_gateway_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every ${VAR} is set by the Deployment (a missing one fails the loader), the
    SensorThings key's variable too, and the app builds from it (connectors, mappings)."""
    env = deployment_env(monkeypatch)
    loaded = parsed(gateway_yaml())
    server = loaded.config.server
    assert server.cursor_secret is not None and server.metrics_token is not None
    assert server.forwarded_allow_ips == [env["FORWARDED_ALLOW_IPS"]]
    for tenant in loaded.config.tenants.values():
        if tenant.sensorthings is not None:
            assert tenant.sensorthings.store is not None
            assert tenant.sensorthings.store.kind == "postgres", "one store for every pod"
            assert tenant.sensorthings.api_key_env in env
    create_app(loaded)


def test_ready_stays_200_when_a_city_is_down_so_the_probe_keeps_pods(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The readiness probe passes on any 2xx: a degraded /ready (a source failed) keeps the
    pod in the Service, as it should (every pod sees the same outage). The SensorThings store
    is left out here: a store that cannot be reached stops the start-up instead."""
    deployment_env(monkeypatch)
    monkeypatch.setenv("POSTGRES_DSN", f"postgresql://u@127.0.0.1:{free_port()}/closed")
    data = gateway_yaml()
    for tenant in data["tenants"].values():
        tenant.pop("sensorthings", None)
    with TestClient(create_app(parsed(data))) as client:
        ready = client.get(container()["readinessProbe"]["httpGet"]["path"])
        health = client.get(container()["livenessProbe"]["httpGet"]["path"])
    assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
    assert health.status_code == 200


def test_probes_ports_and_names_fit_together() -> None:
    c = container()
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["startupProbe"]["httpGet"]["path"] == "/health"
    (port,) = c["ports"]
    assert port["containerPort"] == 8000  # the image's `--port 8000`
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] == port["name"]
    service = load("service.yaml")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    labels = load("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert load("pdb.yaml")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = load("hpa.yaml")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == (
        "Deployment",
        load("deployment.yaml")["metadata"]["name"],
    )
    assert c["resources"]["requests"]["cpu"], "the HPA's CPU utilisation needs a request"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["config"] == "/etc/twinbridge"
    assert c["args"][c["args"].index("--config") + 1] == "/etc/twinbridge/gateway.yaml"
    assert "gateway.yaml" in load("configmap.yaml")["data"]


def test_pods_run_as_non_root_on_a_read_only_root_filesystem() -> None:
    spec, c = pod_spec(), container()
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {v["name"] for v in spec["volumes"]} >= {"config", "tmp"}  # /tmp stays writable


def test_secrets_come_only_from_the_secret_and_are_placeholders() -> None:
    secret = load("secret.yaml")["stringData"]
    assert all("change-me" in value for value in secret.values()), "placeholders only"
    for entry in container()["env"]:
        if "value" in entry:
            assert not re.search(r"SECRET|KEY|TOKEN|PASSWORD|DSN|REDIS", entry["name"]), entry
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == load("secret.yaml")["metadata"]["name"]
            assert ref["key"] in secret
    assert "change-me" not in load("configmap.yaml")["data"]["gateway.yaml"]
