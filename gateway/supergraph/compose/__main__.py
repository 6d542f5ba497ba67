"""`python -m gateway.supergraph.compose --subgraph NAME=URL=PATH ... [-o OUT]`.

Prints the supergraph (or writes it to OUT). Composition errors are printed one per line on
stderr, without a traceback, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import CompositionError, SubgraphSource, compose


def _subgraph(spec: str) -> SubgraphSource:
    # NAME=URL=PATH; the URL itself may contain "=" (query strings), so split on the first and last.
    name, sep, rest = spec.partition("=")
    url, sep2, path = rest.rpartition("=")
    if not sep or not sep2 or not name or not url or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=URL=PATH, got {spec!r}")
    try:
        sdl = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {exc.strerror}") from exc
    return SubgraphSource(name, url, sdl)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.supergraph.compose",
        description="Compose a Federation 2 supergraph SDL from subgraph SDL files.",
    )
    parser.add_argument(
        "--subgraph",
        "-s",
        dest="subgraphs",
        action="append",
        type=_subgraph,
        required=True,
        metavar="NAME=URL=PATH",
        help="a subgraph: its name, routing URL and SDL file (repeat for each subgraph)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the supergraph here instead of stdout")
    args = parser.parse_args(argv)
    try:
        result = compose(args.subgraphs)
    except CompositionError as exc:
        print(f"error: composition failed with {len(exc.issues)} error(s):", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    for hint in result.hints:
        print(f"hint: {hint}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(result.supergraph)
    else:
        args.output.write_text(result.supergraph, encoding="utf-8")
        print(f"wrote {args.output} ({len(args.subgraphs)} subgraphs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
