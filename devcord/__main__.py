"""`python -m devcord --host 127.0.0.1 --port 8765 --scenario devcord/scenarios/demo.yaml`"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from devcord.scenario import DEMO
from devcord.server import Devcord


async def _serve(host: str, port: int, scenario: str) -> None:
    devcord = Devcord(scenario)
    await devcord.start(host, port)
    print(f"devcord: api_base={devcord.api_base} gateway_url={devcord.gateway_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await devcord.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="devcord", description="A local Discord for discord.py bots.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scenario", default=str(DEMO))
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.scenario))


if __name__ == "__main__":
    main()
