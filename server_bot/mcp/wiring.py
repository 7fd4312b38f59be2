"""Build the MCP endpoint from the server-bot's own objects (its core, audit log, relay and bot)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import discord

from server_bot.core import Core
from server_bot.mcp.discord_front import BotDiscordFront
from server_bot.mcp.http import McpEndpoint
from server_bot.mcp.ports import RelayReport
from server_bot.mcp.server import McpDeps
from server_bot.mcp.tokens import TokenStore
from server_bot.mcp.tools import ToolDeps
from server_bot.ratelimit import RateLimiter, RateRules
from shared.audit import AuditLog
from shared.config import DiscordSettings, StorageSettings

PER_TOKEN_RATE = "30/minute;600/hour"  # noqa: S105 - a rate rule


def build_endpoint(
    *,
    core: Core,
    audit: AuditLog,
    relay: RelayReport,
    bot: discord.Client,
    discord_settings: DiscordSettings,
    database_url: str,
    redis_url: str | None,
    rate_per_token: str = PER_TOKEN_RATE,
) -> McpEndpoint:
    """The `/mcp` ASGI endpoint; call `await endpoint.start()` before serving and `stop()` after."""
    front = BotDiscordFront(bot, discord_settings.guild_id, discord_settings.client_bot_user_id)
    # Its own limiter: the per-token rule, in Redis when configured (in process otherwise). The global
    # rule is left to the core's own limits, which every tool call also meets.
    rules = RateRules(command_per_user=rate_per_token, command_global="1000000/minute")
    deps = McpDeps(ToolDeps(core, front, relay), audit, RateLimiter.from_url(redis_url, rules))
    return McpEndpoint(deps, TokenStore.open(database_url))


class McpParts(Protocol):
    """What the endpoint takes from the server-bot's shared context (`server_bot.bot.ServerContext`)."""

    @property
    def core(self) -> Core: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def hub(self) -> RelayReport: ...
    @property
    def discord(self) -> DiscordSettings: ...
    @property
    def storage(self) -> StorageSettings: ...


@contextlib.asynccontextmanager
async def serving_mcp(
    parts: McpParts, bot: discord.Client, *, enabled: bool, rate_per_token: str = PER_TOKEN_RATE
) -> AsyncIterator[McpEndpoint | None]:
    """The running endpoint while the block runs, to mount at `/mcp` in the web app (None when the web
    app, which serves it, is off)."""
    if not enabled:
        yield None
        return
    endpoint = build_endpoint(
        core=parts.core,
        audit=parts.audit,
        relay=parts.hub,
        bot=bot,
        discord_settings=parts.discord,
        database_url=parts.storage.database_url,
        redis_url=parts.storage.redis_url,
        rate_per_token=rate_per_token,
    )
    await endpoint.start()
    try:
        yield endpoint
    finally:
        await endpoint.stop()
