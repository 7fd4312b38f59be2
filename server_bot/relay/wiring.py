"""Attach the relay once the guild is ready: one link per host, all in the bots-only relay channels.

The channels themselves (remembered by id, every host let in) are `server_bot.channels.ensure_relay_channels`.
"""

from __future__ import annotations

import discord

from server_bot.discord_budget import Priority, budget_for
from server_bot.relay.hub import RelayHub
from shared import discord_internals
from shared.audit import AuditLog
from shared.config import DiscordSettings, RelaySettings
from shared.relay_wiring import attach_server_relay


async def attach_relay(
    hub: RelayHub,
    channels: list[discord.TextChannel],
    discord_settings: DiscordSettings,
    relay: RelaySettings,
    *,
    audit: AuditLog | None = None,
) -> None:
    """Refused relay messages are audited to `audit`. Each relay post first takes its turn in the bot's
    request budget, ahead of every user-facing write (a reply cannot start before its prompt reaches a
    host): with several relay channels, unbudgeted relay posts could push the bot past Discord's global
    limit when many users post at once."""
    if audit is not None:
        hub.audit = audit
    budget = budget_for(discord_internals.channel_http(channels[0]))

    async def before_post() -> None:
        await budget.acquire(Priority.RELAY)

    await attach_server_relay(
        hub,
        channels,
        relay,
        relay.host_ids(discord_settings.client_bot_user_id),
        before_post=before_post,
    )
