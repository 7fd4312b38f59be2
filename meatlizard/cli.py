"""The `meatlizard` command: key generation, invite URLs and the local demo.

This is the CLI, so it prints; everything it prints is meant to be copied by an operator.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from meatlizard import mcp_cli
from meatlizard.invite import BOT_PERMISSIONS, BOT_SCOPES, InviteError, invite_url
from shared.envelope import generate_key_hex
from shared.permissions import names


def _keygen(args: argparse.Namespace) -> int:
    print(generate_key_hex())
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meatlizard", description="MeatLizard operator commands")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = commands.add_parser(
        "keygen", help="print a new 256-bit key (64 hex) for PAYLOAD_ or STORAGE_ENCRYPTION_KEY"
    )
    keygen.set_defaults(handler=_keygen)

    invite = commands.add_parser("invite-url", help="print a least-privilege invite URL for one bot")
    invite.add_argument("--client-id", required=True, help="the application's id (Developer Portal)")
    invite.add_argument("--bot", choices=sorted(BOT_PERMISSIONS), default="server")
    invite.add_argument("--guild-id", help="pre-select this server and hide the server picker")
    invite.add_argument("--explain", action="store_true", help="also list scopes and permissions (stderr)")
    invite.set_defaults(handler=_invite_url)

    # The demo parses its own options (e.g. --once); they are passed through untouched.
    demo = commands.add_parser("demo", help="run the whole product locally on devcord", add_help=False)
    demo.set_defaults(handler=_demo)

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
