"""``python -m tools.differential``: see ``tools.differential.runner``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tools.differential import runner


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.differential")
    ap.add_argument("--suite", action="append", help="audit suite id (default: all 46)")
    ap.add_argument("--bench", action="store_true", help="also the benchmark's supergraph (bench/ subgraphs)")
    ap.add_argument("--ops", type=int, default=100, help="operations per suite")
    ap.add_argument("--seed", type=int, default=runner.FIXED_SEED)
    ap.add_argument("--daily", action="store_true", help="use the seed of the day (UTC)")
    ap.add_argument("--workdir", type=Path, default=runner.DEFAULT_WORKDIR, help="tools/audit work dir")
    ap.add_argument("--json", type=Path, help="write the full report here")
    args = ap.parse_args(argv)
    seed = runner.daily_seed() if args.daily else args.seed
    began = time.monotonic()
    results = runner.run(
        args.suite or runner.all_suites(bench=args.bench),
        seed=seed,
        ops_per_suite=args.ops,
        workdir=args.workdir,
        progress=True,
    )
    rep = runner.report(results, seed, time.monotonic() - began)
    if args.json:
        args.json.write_text(json.dumps(rep, indent=1))
    print(f"seed {seed}: {rep['operations']} operations, {rep['kinds']}, {rep['elapsed_s']} s")
    failures = [(r.suite, o) for r in results for o, _ in r.failures()]
    for suite, op in failures:
        print(f"FAIL {suite}: {op.query} {json.dumps(op.variables)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
