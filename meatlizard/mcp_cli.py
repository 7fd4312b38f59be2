"""`meatlizard token create|revoke|list` and `meatlizard mcp` (the stdio bridge to the MCP endpoint).

Token commands open the database named by `--database-url` (default: `DATABASE_URL`, else the embedded
SQLite file) and migrate it first. A new token is printed once, on stdout; it is never stored.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from server_bot.db.migrate import upgrade_to_head
from server_bot.mcp.tokens import TokenError, TokenStore

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/meatlizard.db"
TOKEN_ENV = "MEATLIZARD_MCP_TOKEN"  # noqa: S105 - the variable's name, not a token


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="create, list or revoke personal access tokens for MCP")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it (shown once)")
    create.add_argument("--user", type=int, required=True, help="the owner's Discord user id")
    create.add_argument("--scope", default="chat", help="comma-separated: chat,transcripts,admin")
    create.add_argument("--name", default="mcp", help="a label to recognise it by")
    listing = actions.add_parser("list", help="list a user's tokens (never the tokens themselves)")
    listing.add_argument("--user", type=int, required=True)
    revoke = actions.add_parser("revoke", help="revoke one of a user's tokens")
    revoke.add_argument("--user", type=int, required=True)
    revoke.add_argument("--id", type=int, required=True, help="the token's id, from `token list`")
    for sub in (create, listing, revoke):
        sub.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    token.set_defaults(handler=_token)

    mcp = commands.add_parser(
        "mcp", help=f"serve MCP on stdio, forwarding to the server's /mcp ({TOKEN_ENV})"
    )
    mcp.add_argument("--url", default=os.environ.get("MEATLIZARD_MCP_URL"), help="e.g. https://host/mcp")
    mcp.set_defaults(handler=_mcp)


def _token(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_action(args))
    except TokenError as exc:
        print(f"meatlizard token: {exc}", file=sys.stderr)
        return 2


async def _action(args: argparse.Namespace) -> int:
    await upgrade_to_head(args.database_url)
    store = TokenStore.open(args.database_url)
    try:
        if args.action == "create":
            new = await store.create(args.user, args.scope, name=args.name)
            print(
                f"# token {new.info.id} for user {args.user}, scopes {','.join(sorted(new.info.scopes))}; "
                "shown once, store it now",
                file=sys.stderr,
            )
            print(new.secret)
        elif args.action == "list":
            for info in await store.list_for(args.user):
                state = "active" if info.active else f"revoked {info.revoked_at:%Y-%m-%d %H:%M}"
                used = "never" if info.last_used_at is None else f"{info.last_used_at:%Y-%m-%d %H:%M}"
                scopes = ",".join(sorted(info.scopes))
                print(f"{info.id}\t{info.name}\t{scopes}\t{state}\tlast used {used}")
        else:
            info = await store.revoke(args.user, args.id)
            print(f"token {info.id} revoked")
    finally:
        await store.aclose()
    return 0


def _mcp(args: argparse.Namespace) -> int:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not args.url or not token:
        print(f"meatlizard mcp: needs --url (or MEATLIZARD_MCP_URL) and {TOKEN_ENV}", file=sys.stderr)
        return 2
    # Imported on use: the SDK's stdio server is only needed here.
    from server_bot.mcp.bridge import run_bridge  # noqa: PLC0415

    asyncio.run(run_bridge(args.url, token))
    return 0
