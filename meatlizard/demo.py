"""`meatlizard demo`: the whole product on this machine, on the embedded defaults.

devcord plays Discord, both bots run against it, the client-bot runs SmolLM2-135M-Instruct locally, and
everything is stored under `var/demo/` (SQLite, a local folder for transcripts). Fresh keys are generated
on every run. Two ways to run it:

    meatlizard demo                  # serve devcord's web client; talk to the AI in a browser; Ctrl-C stops
    meatlizard demo --once "PROMPT"  # a scripted user: /chat start → PROMPT → reply → /chat end, then report
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import tempfile
from pathlib import Path

from client_bot.engine import Engine, FakeEngine
from client_bot.main import llama_engine
from meatlizard.scripted_user import bot_reply, command_reply, start_chat
from meatlizard.stack import StackOptions, multi_host_scenario, running_devcord, running_stack
from shared.config import ModelSettings, load
from shared.log import configure_logging, get_logger

log = get_logger(__name__)

DEMO_USER = "alice"


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="meatlizard demo", description=__doc__.splitlines()[0])
    cli.add_argument("--once", metavar="PROMPT", help="run one scripted conversation and report on it")
    cli.add_argument("--host", default="127.0.0.1", help="where devcord listens (default 127.0.0.1)")
    cli.add_argument("--port", type=int, default=8090, help="devcord's port (default 8090; 0 picks one)")
    cli.add_argument("--workdir", type=Path, help="where the demo keeps its data (default: var/demo)")
    cli.add_argument("--fake-engine", action="store_true", help="canned replies instead of the local model")
    cli.add_argument(
        "--extra-hosts",
        type=int,
        default=0,
        metavar="N",
        help="N more client-bots (GPU hosts) with canned-reply engines, each with its own relay key",
    )
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging("WARNING" if args.once else "INFO")
    engine: Engine = FakeEngine() if args.fake_engine else llama_engine(load(ModelSettings))
    if args.once is not None:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="meatlizard-demo-"))
        return asyncio.run(_once(args.once, engine, args.host, args.port, workdir))
    asyncio.run(_serve(engine, args.host, args.port, args.workdir or Path("var/demo"), args.extra_hosts))
    return 0


async def _serve(engine: Engine, host: str, port: int, workdir: Path, extra_hosts: int = 0) -> None:
    options = StackOptions(
        workdir,
        web=True,
        web_port=port + 1 if port else 0,
        extra_host_engines=[FakeEngine() for _ in range(extra_hosts)],
    )
    scenario = multi_host_scenario(1 + extra_hosts) if extra_hosts else None
    async with (
        running_devcord(host, port, scenario) as devcord,
        running_stack(devcord, engine, options) as stack,
    ):
        assert stack.web is not None
        print(
            f"\nMeatLizard is running on devcord, a local Discord.\n"
            f"  Open {devcord.base_url}/ in a browser, pick the user '{DEMO_USER}', open #general,\n"
            f"  type /chat start, then talk to the AI in your new private channel.\n"
            f"  Web app: {stack.web.url}/ (sign in with Discord as '{DEMO_USER}').\n"
            f"  Data: {workdir}/    Stop: Ctrl-C\n",
            flush=True,
        )
        await _until_interrupted()


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


async def _once(prompt: str, engine: Engine, host: str, port: int, workdir: Path) -> int:
    options = StackOptions(workdir, chat={"default_temperature": 0.0})
    async with running_devcord(host, port) as devcord, running_stack(devcord, engine, options) as stack:
        driver = stack.driver
        channel = await start_chat(driver, DEMO_USER)
        posted = await driver.post(channel, DEMO_USER, prompt)
        reply = await bot_reply(driver, channel, after=int(posted["id"]), timeout_s=120)
        ended = await command_reply(driver, DEMO_USER, channel, "chat end")
        relayed = [m for relay in stack.relay_channel_ids for m in await driver.messages(relay)]
        _report(prompt, reply["content"], ended, relayed=relayed, workdir=workdir)
    return 0


def _report(prompt: str, reply: str, ended: str, *, relayed: list[dict[str, object]], workdir: Path) -> None:
    lines = [
        f"prompt: {prompt}",
        f"reply:  {reply}",
        "",
        f"What Discord stored in the relay channels ({len(relayed)} messages; ciphertext only):",
    ]
    for message in relayed:
        author = message["author"]["username"]  # type: ignore[index]
        content = str(message["content"]) or f"[attachment {message['attachments'][0]['filename']}]"  # type: ignore[index]
        lines.append(f"  {author}: {content[:110]}{'…' if len(content) > 110 else ''}")
    transcripts = sorted(p for p in (workdir / "objects" / "transcripts").rglob("*") if p.is_file())
    lines += ["", f"/chat end said: {ended}", "Transcript:", *(f"  {p}" for p in transcripts)]
    print("\n".join(lines))
