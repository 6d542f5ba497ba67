"""`python -m devstack up` (behind `make up`) and `python -m devstack services`.

up          the whole stack: services, migrations, demo data once, subgraphs, gateway
services    only PostgreSQL, NATS and Redis (prints their URLs), e.g. to run tests against
provision   migrations and demo data on the DATABASE_URL server (compose.yaml)
supergraph  compose running subgraphs' SDLs into a file (compose.yaml)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from devstack.containers import provision, supergraph
from devstack.launcher import LaunchOptions, say, up
from devstack.services import ServicePorts, ServiceStartError, start_services


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("up", "start the whole stack"), ("services", "start only PostgreSQL, NATS, Redis")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--data-dir", type=Path, default=Path(".data"), help="where data lives (.data)")
        sub.add_argument("--pg-port", type=int, help="PostgreSQL port (default: a free one)")
        sub.add_argument("--nats-port", type=int, help="NATS port (default: a free one)")
        sub.add_argument("--redis-port", type=int, help="Redis port (default: a free one)")
        sub.add_argument(
            "--nats-cluster",
            type=int,
            default=1,
            metavar="N",
            help="a JetStream cluster of N nodes (3: streams with 3 replicas) instead of one server",
        )
        if name == "up":
            sub.add_argument(
                "--gateway-port",
                type=int,
                help="gateway port (default 4000, a free one if taken; 0: any free port)",
            )
            sub.add_argument("--no-seed", action="store_true", help="do not load the demo data")
    provision = commands.add_parser("provision", help="migrate and seed the DATABASE_URL database")
    provision.add_argument("--no-seed", action="store_true", help="do not load the demo data")
    compose = commands.add_parser("supergraph", help="compose running subgraphs into a supergraph file")
    compose.add_argument("--out", type=Path, required=True, help="where to write the supergraph SDL")
    compose.add_argument("--timeout", type=float, default=180.0, help="how long to wait for the subgraphs")
    compose.add_argument("subgraphs", nargs="+", metavar="NAME=URL", help="subgraph name and /graphql URL")
    return parser


def _services_only(data_dir: Path, ports: ServicePorts, nats_cluster: int) -> int:
    try:
        with start_services(data_dir, persistent=True, ports=ports, nats_cluster=nats_cluster) as services:
            for note in services.notes:
                say(note)
            for key, value in services.env().items():
                print(f"{key}={value}", flush=True)
            say("press Ctrl-C to stop")
            while True:
                time.sleep(3600)
    except ServiceStartError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "provision":
        return provision(seed=not args.no_seed)
    if args.command == "supergraph":
        return supergraph(args.out, args.subgraphs, args.timeout)
    ports = ServicePorts(postgres=args.pg_port, nats=args.nats_port, redis=args.redis_port)
    if args.command == "services":
        return _services_only(args.data_dir, ports, args.nats_cluster)
    options = LaunchOptions(
        data_dir=args.data_dir,
        gateway_port=args.gateway_port,
        service_ports=ports,
        seed=not args.no_seed,
        nats_cluster=args.nats_cluster,
    )
    return up(options)


if __name__ == "__main__":
    sys.exit(main())
