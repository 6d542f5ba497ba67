"""Kubernetes manifests for the platform, rendered from one description (no Helm binary needed).

    python -m devstack.kube                       # writes deploy/kubernetes/b2b.yaml
    python -m devstack.kube --image REG/b2b:1.4 --namespace shop --out -   # to stdout

Why a Python renderer and not a Helm chart: Helm is a Go binary that no registry reachable here
ships, and `helm template` could then not run in CI; plain YAML rendered by this module (checked
in, and compared with a fresh render by tests/deploy) is applied with `kubectl apply -f` or kept
as a Kustomize base. The stateful parts are not ours to package: they come from their own charts
and operators, with the values in deploy/kubernetes/charts/ (docs/scaling.md, "Kubernetes"):

- PostgreSQL: the CloudNativePG operator; its `Cluster` (3 instances: a primary and two streaming
  replicas; services `b2b-db-rw` and `b2b-db-ro`) is rendered here.
- NATS: the official `nats` chart in JetStream cluster mode (3 nodes; streams R3).
- Redis: the Bitnami `redis` chart with Sentinel, or a managed Redis (one endpoint that fails over).

What is rendered: the namespace, a ConfigMap of shared settings, the supergraph (schema/, with
in-cluster routing URLs), the migrations Job, the CNPG Cluster, and for the gateway and each
subgraph a Deployment (probes on /livez and /readyz), a Service, a PodDisruptionBudget and a
HorizontalPodAutoscaler on CPU. Secrets are referenced, never rendered: `b2b-secrets` (keys
`gateway-secret`, `app-db-password`, `redis-url`) is created by the operator of the cluster, and
`b2b-db-superuser` by CloudNativePG.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from subgraphs import GATEWAY_DEFAULT_PORT, SUBGRAPHS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "deploy" / "kubernetes" / "b2b.yaml"
SECRETS = "b2b-secrets"
DB_CLUSTER = "b2b-db"
UID = 10001  # the Dockerfile's `app` user


@dataclass(frozen=True)
class Values:
    namespace: str = "b2b"
    image: str = "b2b-federation:latest"
    gateway_replicas: int = 3
    gateway_max_replicas: int = 30
    subgraph_replicas: int = 2
    subgraph_max_replicas: int = 12
    nats_release: str = "nats"  # the official chart's release name: pods nats-0.., service nats-headless
    nats_nodes: int = 3
    db_instances: int = 3
    db_storage: str = "100Gi"
    cpu_target: int = 70  # HPA: average CPU utilisation of the requests


Obj = dict[str, Any]


def _meta(name: str, values: Values, component: str) -> Obj:
    return {
        "name": name,
        "namespace": values.namespace,
        "labels": {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": "b2b",
            "app.kubernetes.io/component": component,
        },
    }


def _selector(name: str) -> Obj:
    return {"app.kubernetes.io/name": name}


def _secret_env(name: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRETS, "key": key}}}


def shared_config(values: Values) -> Obj:
    ns = values.namespace
    nats = ",".join(
        f"nats://{values.nats_release}-{i}.{values.nats_release}-headless.{ns}.svc:4222"
        for i in range(values.nats_nodes)
    )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("b2b-config", values, "config"),
        "data": {
            # The owner's name and the database; subgraphs connect as the application role (b2b_app)
            # with B2B_APP_DB_PASSWORD, so this URL carries no password.
            "DATABASE_URL": f"postgresql://postgres@{DB_CLUSTER}-rw.{ns}.svc:5432/b2b",
            "NATS_URL": nats,
            "B2B_EVENT_STREAM_REPLICAS": str(min(3, values.nats_nodes)),
            "B2B_DB_POOL_SIZE": "10",
            "LOG_LEVEL": "INFO",
        },
    }


def supergraph_config(values: Values, sdl: str) -> Obj:
    """The checked-in supergraph with every subgraph's routing URL pointed at its Service."""
    ports = {spec.name: spec.default_port for spec in SUBGRAPHS}

    def route(match: re.Match[str]) -> str:
        name = match.group(1)
        return (
            f'@join__graph(name: "{name}", url: "http://{name}.{values.namespace}.svc:{ports[name]}/graphql")'
        )

    routed = re.sub(r'@join__graph\(name: "([a-z_]+)", url: "[^"]*"\)', route, sdl)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("b2b-supergraph", values, "gateway"),
        "data": {"supergraph.graphql": routed},
    }


def db_cluster(values: Values) -> Obj:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": _meta(DB_CLUSTER, values, "database"),
        "spec": {
            "instances": values.db_instances,  # one primary, streaming replicas behind b2b-db-ro
            "enableSuperuserAccess": True,  # the migrations Job runs as postgres (roles, RLS policies)
            "bootstrap": {"initdb": {"database": "b2b", "owner": "b2b_owner"}},
            "postgresql": {"parameters": {"max_connections": "500", "shared_buffers": "4GB"}},
            "storage": {"size": values.db_storage},
            "minSyncReplicas": 1,  # a commit is on two nodes: failover loses no acknowledged order
            "maxSyncReplicas": 1,
            "monitoring": {"enablePodMonitor": True},
        },
    }


def _pod_security() -> Obj:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _container_security() -> Obj:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def migrations_job(values: Values) -> Obj:
    env = [
        {
            "name": "DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": f"{DB_CLUSTER}-superuser", "key": "password"}},
        },
        {
            "name": "DATABASE_URL",
            "value": f"postgresql://postgres:$(DB_PASSWORD)@{DB_CLUSTER}-rw.{values.namespace}.svc:5432/b2b",
        },
        _secret_env("B2B_APP_DB_PASSWORD", "app-db-password"),
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta("b2b-migrate", values, "migrations"),
        "spec": {
            "backoffLimit": 4,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": _selector("b2b-migrate")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "securityContext": _pod_security(),
                    "containers": [
                        {
                            "name": "migrate",
                            "image": values.image,
                            # Every subgraph's Alembic migrations; no demo data in a real cluster.
                            "command": ["python", "-m", "devstack", "provision", "--no-seed"],
                            "env": env,
                            "resources": {
                                "requests": {"cpu": "200m", "memory": "256Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "securityContext": _container_security(),
                        }
                    ],
                },
            },
        },
    }


def _probes(port: int) -> Obj:
    def probe(path: str, period: int, failures: int) -> Obj:
        return {
            "httpGet": {"path": path, "port": port},
            "periodSeconds": period,
            "timeoutSeconds": 3,
            "failureThreshold": failures,
        }

    return {
        "startupProbe": probe("/livez", 2, 60),
        "livenessProbe": probe("/livez", 10, 3),  # the process answers: else restart it
        "readinessProbe": probe("/readyz", 5, 2),  # it can serve: else out of the Service, no restart
    }


def _workload(
    values: Values,
    name: str,
    port: int,
    command: list[str],
    env: list[Obj],
    *,
    replicas: int,
    max_replicas: int,
    cpu: str,
    memory: str,
    component: str,
    volumes: Iterable[tuple[Obj, Obj]] = (),
) -> list[Obj]:
    """Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler of one stateless process."""
    mounts = list(volumes)
    container: Obj = {
        "name": name,
        "image": values.image,
        "command": command,
        "ports": [{"name": "http", "containerPort": port}],
        "envFrom": [{"configMapRef": {"name": "b2b-config"}}],
        "env": env,
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        # Leave the Service's endpoints before SIGTERM reaches the process (no new connections land
        # on a stopping pod); uvicorn then finishes what is in flight.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "securityContext": _container_security(),
        **_probes(port),
    }
    if mounts:
        container["volumeMounts"] = [mount for mount, _volume in mounts]
    pod: Obj = {
        "securityContext": _pod_security(),
        "terminationGracePeriodSeconds": 45,
        "containers": [container],
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": _selector(name)},
            }
        ],
    }
    if mounts:
        pod["volumes"] = [volume for _mount, volume in mounts]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, values, component),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": _selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "template": {
                "metadata": {
                    "labels": {**_selector(name), "app.kubernetes.io/part-of": "b2b"},
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)},
                },
                "spec": pod,
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, values, component),
        "spec": {
            "selector": _selector(name),
            "ports": [{"name": "http", "port": port, "targetPort": "http"}],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name, values, component),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _selector(name)}},
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(name, values, component),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": values.cpu_target},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }
    return [deployment, service, pdb, hpa]


def gateway(values: Values) -> list[Obj]:
    ns = values.namespace
    orgs = f"http://orgs.{ns}.svc:4101"
    env = [
        _secret_env("B2B_GATEWAY_SECRET", "gateway-secret"),
        _secret_env("REDIS_URL", "redis-url"),
        {"name": "GATEWAY_JWKS_URL", "value": f"{orgs}/.well-known/jwks.json"},
        {"name": "GATEWAY_JWT_ISSUER", "value": "b2b-orgs"},
        {"name": "GATEWAY_JWT_AUDIENCE", "value": "b2b-gateway"},
        {"name": "GATEWAY_API_KEY_SOURCE", "value": "http"},
        {"name": "GATEWAY_API_KEY_URL", "value": f"{orgs}/internal/api-keys"},
        {"name": "GATEWAY_GRAPHIQL", "value": "false"},
        {"name": "GATEWAY_RATE_LIMIT_PER_MINUTE", "value": "600"},
        # Per pod: the breaker sees one Service per subgraph, so the loss of one subgraph replica
        # (its in-flight requests) must stay under the threshold (docs/scaling.md).
        {"name": "GATEWAY_BREAKER_FAILURE_THRESHOLD", "value": "20"},
    ]
    command = ["python", "-m", "gateway", "--supergraph", "/supergraph/supergraph.graphql"]
    command += ["--host", "0.0.0.0", "--port", str(GATEWAY_DEFAULT_PORT)]
    volume = (
        {"name": "supergraph", "mountPath": "/supergraph", "readOnly": True},
        {"name": "supergraph", "configMap": {"name": "b2b-supergraph"}},
    )
    return _workload(
        values, "gateway", GATEWAY_DEFAULT_PORT, command, env,
        replicas=values.gateway_replicas, max_replicas=values.gateway_max_replicas,
        cpu="1", memory="1Gi", component="gateway", volumes=[volume],
    )  # fmt: skip


def subgraph(values: Values, name: str, port: int) -> list[Obj]:
    env = [
        _secret_env("B2B_GATEWAY_SECRET", "gateway-secret"),
        _secret_env("B2B_APP_DB_PASSWORD", "app-db-password"),
        _secret_env("REDIS_URL", "redis-url"),
    ]
    command = ["uvicorn", f"subgraphs.{name}.app:create_app", "--factory", "--host", "0.0.0.0"]
    command += ["--port", str(port), "--no-access-log"]
    return _workload(
        values, name, port, command, env,
        replicas=values.subgraph_replicas, max_replicas=values.subgraph_max_replicas,
        cpu="500m", memory="512Mi", component="subgraph",
    )  # fmt: skip


def render_objects(values: Values | None = None, sdl: str | None = None) -> list[Obj]:
    values = values or Values()
    sdl = sdl if sdl is not None else (ROOT / "schema" / "supergraph.graphql").read_text()
    objects: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": values.namespace, "labels": {"app.kubernetes.io/part-of": "b2b"}},
        },
        shared_config(values),
        supergraph_config(values, sdl),
        db_cluster(values),
        migrations_job(values),
        *gateway(values),
    ]
    for spec in SUBGRAPHS:
        objects.extend(subgraph(values, spec.name, spec.default_port))
    return objects


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no stubs here
    """Multi-line strings (the supergraph) as literal blocks, readable in the rendered file."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)

HEADER = "# Rendered by `python -m devstack.kube` (devstack/kube.py); edit that, not this file.\n"


def render(values: Values | None = None, sdl: str | None = None) -> str:
    docs = [yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=120) for obj in render_objects(values, sdl)]
    return HEADER + "---\n" + "---\n".join(docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.kube", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default=str(OUT), help="file to write, or - for stdout (default: %(default)s)"
    )
    parser.add_argument("--namespace", default=Values.namespace)
    parser.add_argument("--image", default=Values.image)
    args = parser.parse_args(argv)
    text = render(Values(namespace=args.namespace, image=args.image))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
