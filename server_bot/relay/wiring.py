"""Set the relay up in the guild: the bots-only channel, every host let in, one link per host attached."""

from __future__ import annotations

import discord

from server_bot.channels import ensure_relay_channel
from server_bot.relay.hub import RelayHub
from shared.audit import AuditLog
from shared.config import DiscordSettings, RelaySettings
from shared.relay_wiring import attach_server_relay


async def attach_relay(
    hub: RelayHub,
    guild: discord.Guild,
    discord_settings: DiscordSettings,
    relay: RelaySettings,
    *,
    audit: AuditLog | None = None,
) -> None:
    """Called once the guild is ready; refused relay messages are audited to `audit`."""
    if audit is not None:
        hub.audit = audit
    host_ids = relay.host_ids(discord_settings.client_bot_user_id)
    channel = await ensure_relay_channel(
        guild, discord_settings.relay_channel, discord_settings.client_bot_user_id
    )
    await attach_server_relay(hub, channel, relay, host_ids)
