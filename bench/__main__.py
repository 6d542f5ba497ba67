"""``python -m bench [federation|latency|all]`` (``make bench`` runs both with the default profile)."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from bench.federation.latency import run_latency
from bench.federation.runner import ALL_PASSES, LoadProfile, run_federation
from bench.grafbase.run import SCENARIOS, run_scenario
from bench.runlock import exclusive_run


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # turn SIGTERM into an exception so that every ``finally`` stops its child processes
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("benchmark", nargs="?", default="all", choices=["federation", "latency", "all"])
    parser.add_argument("--quick", action="store_true", help="2 s warm-up + 5 s, fewer checks")
    parser.add_argument("--warmup", type=float, help="warm-up seconds (default 5)")
    parser.add_argument("--duration", type=float, help="measured seconds (default 30)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--passes", default=",".join(ALL_PASSES),
                        help=f"comma-separated subset of {','.join(ALL_PASSES)}")
    parser.add_argument("--only", help="comma-separated words; run only gateways whose name contains one")
    parser.add_argument("--no-peers", action="store_true", help="do not install or run the Node.js peers")
    parser.add_argument("--profile", action="store_true",
                        help="sample our gateway with py-spy during each measured run (summary printed)")
    parser.add_argument("--latency-requests", type=int, help="sequential requests each way (default 2000)")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"],
                        help="a grafbase scenario (docs/benchmarks.md) instead of the federation benchmark")
    parser.add_argument("--requests", type=int, help="measured requests of --scenario (default per scenario)")
    parser.add_argument("--workers", type=int, default=1, help="our gateway's --workers for --scenario")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    profile = LoadProfile.quick() if args.quick else LoadProfile()
    profile = LoadProfile(warmup_s=args.warmup if args.warmup is not None else profile.warmup_s,
                          duration_s=args.duration if args.duration is not None else profile.duration_s,
                          connections=args.connections, checks=profile.checks, profile=args.profile)
    with exclusive_run():
        if args.scenario:
            names = ([s for s in SCENARIOS if s != "distinct-memory"] if args.scenario == "all"
                     else [args.scenario])
            only = set(args.only.split(",")) if args.only else None
            for name in names:
                document = run_scenario(name, requests=args.requests, only=only, skip_peers=args.no_peers,
                                        workers=args.workers)
                print("\n" + document["table"])
        else:
            _run(args, profile)
    return 0


def _run(args: argparse.Namespace, profile: LoadProfile) -> None:
    if args.benchmark in ("federation", "all"):
        passes = tuple(p for p in args.passes.split(",") if p in ALL_PASSES)
        only = set(args.only.split(",")) if args.only else None
        document = run_federation(profile, passes=passes, only=only, skip_peers=args.no_peers)
        print("\n" + document["table"])
        for note in document["notes"]:
            print(note)
        print("(results in bench/results/federation-latest.{json,txt}; shared machine: compare ratios, "
              "not absolute figures)")
    if args.benchmark in ("latency", "all"):
        requests = args.latency_requests or (300 if args.quick else 2000)
        latency = run_latency(requests, warmup=30 if args.quick else 100)
        print("\n" + latency["table"])


if __name__ == "__main__":
    sys.exit(main())
