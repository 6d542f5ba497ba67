"""``python -m bench.federation.subgraphs --port 4200``: serve the four scenario subgraphs until killed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bench.federation.subgraphs.server import SubgraphApp, serve


async def _main(host: str, port: int, use_requires: bool) -> None:
    server = await serve(host, port, SubgraphApp(use_requires=use_requires))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"subgraphs listening on http://{host}:{port}/{{accounts,inventory,products,reviews}}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4200)
    parser.add_argument("--use-requires", action="store_true",
                        help="compute shippingEstimate from the representation (graphql-hive/router variant)")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_main(args.host, args.port, args.use_requires))


if __name__ == "__main__":
    main()
