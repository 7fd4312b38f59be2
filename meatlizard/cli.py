"""The `meatlizard` command: key generation, invite URLs, doctor, setup, model check and the local demo.

This is the CLI, so it prints; everything it prints is meant to be copied by an operator.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from meatlizard import mcp_cli
from meatlizard.invite import BOT_PERMISSIONS, BOT_SCOPES, InviteError, invite_url
from shared.envelope import generate_key_hex
from shared.permissions import names


def _keygen(args: argparse.Namespace) -> int:
    print(generate_key_hex())
    return 0


def _hostkey(args: argparse.Namespace) -> int:
    from shared.envelope import InvalidKey  # noqa: PLC0415
    from shared.relay_wiring import host_key_hex  # noqa: PLC0415

    master = os.environ.get("PAYLOAD_ENCRYPTION_KEY", "")
    try:
        print(host_key_hex(master, args.host_id))
    except InvalidKey as exc:
        print(f"meatlizard hostkey: PAYLOAD_ENCRYPTION_KEY: {exc}", file=sys.stderr)
        return 2
    return 0


def _invite_url(args: argparse.Namespace) -> int:
    try:
        url = invite_url(args.client_id, args.bot, args.guild_id)
    except InviteError as exc:
        print(f"meatlizard invite-url: {exc}", file=sys.stderr)
        return 2
    if args.explain:
        print(f"# scopes: {' '.join(BOT_SCOPES[args.bot])}", file=sys.stderr)
        print(f"# permissions: {', '.join(names(BOT_PERMISSIONS[args.bot]))}", file=sys.stderr)
    print(url)
    return 0


def _demo(args: argparse.Namespace) -> int:
    # Imported on use: the demo pulls in devcord and both bots, which the other subcommands never need.
    demo = importlib.import_module("meatlizard.demo")
    result = demo.main(args.demo_args)
    return int(result or 0)


def _doctor(args: argparse.Namespace) -> int:
    doctor = importlib.import_module("meatlizard.doctor")
    return int(doctor.print_report(asyncio.run(doctor.run_checks(args.host))))


def _model_check(args: argparse.Namespace) -> int:
    model_check = importlib.import_module("meatlizard.model_check")
    gguf = importlib.import_module("meatlizard.gguf_metadata")
    try:
        facts = model_check.inspect_model(args.path)
    except gguf.GGUFError as exc:
        print(f"meatlizard model check: {exc}", file=sys.stderr)
        return 2
    lines = model_check.describe(facts, args.context)
    for fine, line in lines:
        print(("✔ " if fine else "✘ ") + line)
    return 0 if all(fine for fine, _ in lines) else 1


def _setup(args: argparse.Namespace) -> int:
    setup = importlib.import_module("meatlizard.setup")
    return int(asyncio.run(setup.main()))


def _reseal(args: argparse.Namespace) -> int:
    # Imported on use: reseal pulls in the server-bot's database layer, which the GPU host never needs.
    reseal = importlib.import_module("meatlizard.reseal")
    return int(reseal.run(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meatlizard", description="MeatLizard operator commands")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = commands.add_parser(
        "keygen", help="print a new 256-bit key (64 hex) for PAYLOAD_ or STORAGE_ENCRYPTION_KEY"
    )
    keygen.set_defaults(handler=_keygen)

    hostkey = commands.add_parser(
        "hostkey", help="print one GPU host's relay key, derived from PAYLOAD_ENCRYPTION_KEY (the master)"
    )
    hostkey.add_argument("host_id", type=int, help="the client-bot's Discord user id")
    hostkey.set_defaults(handler=_hostkey)

    invite = commands.add_parser("invite-url", help="print a least-privilege invite URL for one bot")
    invite.add_argument("--client-id", required=True, help="the application's id (Developer Portal)")
    invite.add_argument("--bot", choices=sorted(BOT_PERMISSIONS), default="server")
    invite.add_argument("--guild-id", help="pre-select this server and hide the server picker")
    invite.add_argument("--explain", action="store_true", help="also list scopes and permissions (stderr)")
    invite.set_defaults(handler=_invite_url)

    doctor = commands.add_parser("doctor", help="check this host's configuration, one line per check")
    doctor.add_argument(
        "--host",
        choices=["auto", "server", "client", "both"],
        default="auto",
        help="which bot's checks to run (auto: whichever token is set)",
    )
    doctor.set_defaults(handler=_doctor)

    setup = commands.add_parser(
        "setup", help="create the AI Admin role, sessions category and relay channel (idempotent)"
    )
    setup.set_defaults(handler=_setup)

    model = commands.add_parser("model", help="inspect a model file")
    model_commands = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    check = model_commands.add_parser("check", help="context, chat template, size and memory of a GGUF")
    check.add_argument("path", type=Path, help="the .gguf file")
    check.add_argument(
        "--context", type=int, default=2048, help="context to estimate memory at (MODEL_CONTEXT)"
    )
    check.set_defaults(handler=_model_check)

    # The demo parses its own options (e.g. --once); they are passed through untouched.
    demo = commands.add_parser("demo", help="run the whole product locally on devcord", add_help=False)
    demo.set_defaults(handler=_demo)

    reseal = commands.add_parser(
        "reseal", help="re-encrypt stored conversation text under the current STORAGE_ENCRYPTION_KEY"
    )
    reseal.add_argument("--batch", type=int, default=500, help="rows per committed batch (default 500)")
    reseal.add_argument("--check", action="store_true", help="only count rows under a previous key")
    reseal.set_defaults(handler=_reseal)
    mcp_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "demo":
        args.demo_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
