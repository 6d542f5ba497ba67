"""The Kubernetes manifests (deploy/kubernetes/b2b.yaml, rendered by devstack/kube.py): up to date
with the renderer, and every object valid against the Kubernetes JSON schemas (kubernetes-validate,
strict: unknown fields refused) of the oldest and newest versions we support. The CloudNativePG
`Cluster` is a custom resource those schemas do not know: its fields are checked here by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devstack import kube
from subgraphs import SUBGRAPHS

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ("1.29.0", "1.37.0")


def _objects() -> list[dict[str, Any]]:
    return [
        doc for doc in yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "b2b.yaml").read_text()) if doc
    ]


def test_checked_in_manifests_match_the_renderer() -> None:
    assert (ROOT / "deploy" / "kubernetes" / "b2b.yaml").read_text() == kube.render(), (
        "deploy/kubernetes/b2b.yaml is stale: run `python -m devstack.kube`"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_every_core_object_validates_against_the_kubernetes_schemas(version: str) -> None:
    checked = 0
    for obj in _objects():
        if obj["apiVersion"].endswith("cnpg.io/v1"):
            continue
        kubernetes_validate.validate(obj, version, strict=True)  # raises ValidationError
        checked += 1
    assert checked >= 4 + 4 * (1 + len(SUBGRAPHS))


def test_the_gateway_and_every_subgraph_have_probes_a_budget_and_an_autoscaler() -> None:
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for obj in _objects():
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    for name in ["gateway", *(spec.name for spec in SUBGRAPHS)]:
        container = by_kind["Deployment"][name]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["resources"]["requests"]["cpu"]  # the HPA's utilisation needs a request
        assert by_kind["PodDisruptionBudget"][name]["spec"]["maxUnavailable"] == 1
        hpa = by_kind["HorizontalPodAutoscaler"][name]["spec"]
        assert hpa["metrics"][0]["resource"]["name"] == "cpu" and hpa["minReplicas"] >= 2
        assert name in by_kind["Service"]
        # Secrets only by reference: no credential in a manifest.
        for env in container["env"]:
            if any(word in env["name"] for word in ("SECRET", "PASSWORD", "REDIS_URL")):
                assert "secretKeyRef" in env["valueFrom"], env
    job = by_kind["Job"]["b2b-migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"][-2:] == ["provision", "--no-seed"]
    assert "Secret" not in by_kind


def test_the_supergraph_routes_to_the_services_and_streams_are_replicated() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in _objects()}
    sdl = objects[("ConfigMap", "b2b-supergraph")]["data"]["supergraph.graphql"]
    for spec in SUBGRAPHS:
        assert f'url: "http://{spec.name}.b2b.svc:{spec.default_port}/graphql"' in sdl
    assert "127.0.0.1" not in sdl
    config = objects[("ConfigMap", "b2b-config")]["data"]
    assert config["B2B_EVENT_STREAM_REPLICAS"] == "3" and config["NATS_URL"].count("nats://") == 3
    assert "@" in config["DATABASE_URL"] and ":" not in config["DATABASE_URL"].split("@")[0].split("//")[1]


def test_the_cloudnative_pg_cluster_and_the_chart_values() -> None:
    cluster = next(o for o in _objects() if o["kind"] == "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] == 3 and spec["minSyncReplicas"] == 1 and spec["storage"]["size"]
    assert set(spec) <= {"instances", "enableSuperuserAccess", "bootstrap", "postgresql", "storage",
                         "minSyncReplicas", "maxSyncReplicas", "monitoring"}  # fmt: skip
    nats = yaml.safe_load((ROOT / "deploy/kubernetes/charts/nats.values.yaml").read_text())
    assert (
        nats["config"]["cluster"] == {"enabled": True, "replicas": 3}
        and nats["config"]["jetstream"]["enabled"]
    )
    redis = yaml.safe_load((ROOT / "deploy/kubernetes/charts/redis.values.yaml").read_text())
    assert redis["sentinel"]["enabled"] and redis["architecture"] == "replication"
