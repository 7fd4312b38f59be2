"""Which checks run where, and the report. The VPS has SERVER_BOT_TOKEN, the GPU host CLIENT_BOT_TOKEN;
`--host auto` checks whichever is configured (both, in the demo or on a single machine)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Literal, TypeVar

from pydantic_settings import BaseSettings

from meatlizard.doctor.discord_api import DiscordApi, DiscordApiError
from meatlizard.doctor.discord_checks import (
    BotFacts,
    BotSpec,
    check_admin_role,
    check_bot,
    check_relay_channel,
)
from meatlizard.doctor.keys import check_keys
from meatlizard.doctor.result import Check, fail, render
from meatlizard.doctor.storage import check_database, check_redis, check_s3
from shared.config import (
    ClientBotSettings,
    ConfigError,
    DiscordSettings,
    ModelSettings,
    ServerBotSettings,
    StorageSettings,
    load,
)
from shared.permissions import CLIENT_BOT_PERMISSIONS, SERVER_BOT_PERMISSIONS

SettingsT = TypeVar("SettingsT", bound=BaseSettings)
Host = Literal["auto", "server", "client", "both"]
# Ids that `meatlizard setup` prints; when set they win over the names.
ADMIN_ROLE_ID = "DISCORD_ADMIN_ROLE_ID"
RELAY_CHANNEL_ID = "DISCORD_RELAY_CHANNEL_ID"


async def run_checks(host: Host = "auto") -> list[Check]:
    server = host in ("server", "both") or (host == "auto" and _configured("SERVER_BOT_TOKEN"))
    client = host in ("client", "both") or (host == "auto" and _configured("CLIENT_BOT_TOKEN"))
    if not (server or client):
        return [
            fail(
                "host",
                "neither SERVER_BOT_TOKEN nor CLIENT_BOT_TOKEN is set",
                "fill in .env (docs/deploy.md)",
            )
        ]
    checks: list[Check] = []
    discord_settings = _settings(DiscordSettings, "Discord settings", checks)
    bots: dict[str, BotFacts] = {}
    apis: dict[str, tuple[str, BotSpec]] = {}
    if discord_settings is not None:
        if server:
            token = _token(ServerBotSettings, "SERVER_BOT_TOKEN", checks, _token_of)
            if token:
                apis["server-bot"] = (token, _spec("server", discord_settings))
        if client:
            token = _token(ClientBotSettings, "CLIENT_BOT_TOKEN", checks, _token_of)
            if token:
                apis["client-bot"] = (token, _spec("client", discord_settings))
        for label, (token, spec) in apis.items():
            async with DiscordApi(discord_settings.api_base, token) as api:
                found, facts = await check_bot(api, spec, discord_settings)
            checks.extend(found)
            if facts.role_ids is not None:
                bots[label] = facts
        checks.extend(await _guild_checks(discord_settings, apis, bots, server=server))
    checks.extend(check_keys(server=server))
    if server:
        storage = _settings(StorageSettings, "storage settings", checks)
        if storage is not None:
            checks.append(await check_database(storage))
            checks.extend(c for c in (await check_s3(storage), await check_redis(storage)) if c is not None)
    if client:
        model = _settings(ModelSettings, "model settings", checks)
        if model is not None:
            # Imported here: the client-bot's engine package is the GPU host's, not the VPS image's concern.
            from meatlizard.doctor.model import check_model  # noqa: PLC0415

            checks.extend(await check_model(model))
    return checks


async def _guild_checks(
    settings: DiscordSettings,
    apis: dict[str, tuple[str, BotSpec]],
    bots: dict[str, BotFacts],
    *,
    server: bool,
) -> list[Check]:
    # The server-bot's token sees the guild as the product does; a client-only host uses its own.
    label = "server-bot" if "server-bot" in bots else next(iter(bots), None)
    if label is None:
        return []
    checks = []
    async with DiscordApi(settings.api_base, apis[label][0]) as api:
        try:
            if server:
                checks.append(await check_admin_role(api, settings, os.environ.get(ADMIN_ROLE_ID)))
            checks.append(await check_relay_channel(api, settings, os.environ.get(RELAY_CHANNEL_ID)))
        except DiscordApiError as exc:
            checks.append(
                fail("server layout", f"cannot read roles and channels ({exc})", "see the lines above")
            )
    return checks


def _spec(which: str, settings: DiscordSettings) -> BotSpec:
    if which == "server":
        return BotSpec(
            "server-bot", "SERVER_BOT_TOKEN", "DISCORD_SERVER_BOT_USER_ID", settings.server_bot_user_id,
            ("Server Members Intent", "Message Content Intent"), SERVER_BOT_PERMISSIONS,
        )  # fmt: skip
    return BotSpec(
        "client-bot", "CLIENT_BOT_TOKEN", "DISCORD_CLIENT_BOT_USER_ID", settings.client_bot_user_id,
        ("Message Content Intent",), CLIENT_BOT_PERMISSIONS,
    )  # fmt: skip


def _token_of(settings: ServerBotSettings | ClientBotSettings) -> str:
    return settings.token.get_secret_value()


def _configured(variable: str) -> bool:
    if os.environ.get(variable):
        return True
    try:  # pydantic-settings also reads .env in the working directory
        from dotenv import dotenv_values  # noqa: PLC0415

        return bool(dotenv_values(".env").get(variable))
    except ImportError:
        return False


def _settings(cls: type[SettingsT], what: str, out: list[Check]) -> SettingsT | None:
    try:
        return load(cls)
    except ConfigError as exc:
        out.append(
            fail(
                what,
                "; ".join(line.strip() for line in str(exc).splitlines()[1:]),
                "fix .env (see .env.example)",
            )
        )
        return None


def _token(cls: type[SettingsT], variable: str, out: list[Check], get: Callable[[SettingsT], str]) -> str:
    try:
        return get(load(cls))
    except ConfigError as exc:
        problems = [line.strip() for line in str(exc).splitlines()[1:] if "TOKEN" in line]
        if problems:
            out.append(fail(f"{variable}", "; ".join(problems), f"paste the bot token into {variable}"))
        return ""


def print_report(checks: list[Check]) -> int:
    colour = sys.stdout.isatty()
    for check in checks:
        print(render(check, colour=colour))
    failed = sum(check.failed for check in checks)
    print(
        f"\n{len(checks) - failed} passed, {failed} to fix"
        if failed
        else f"\nall {len(checks)} checks passed"
    )
    return 1 if failed else 0
