"""Attach the relay once the guild is ready: one link per host, all in the bots-only relay channel.

The channel itself (remembered by id, every host let in) is `server_bot.channels.ensure_relay_channel`.
"""

from __future__ import annotations

import discord

from server_bot.relay.hub import RelayHub
from shared.audit import AuditLog
from shared.config import DiscordSettings, RelaySettings
from shared.relay_wiring import attach_server_relay


async def attach_relay(
    hub: RelayHub,
    channel: discord.TextChannel,
    discord_settings: DiscordSettings,
    relay: RelaySettings,
    *,
    audit: AuditLog | None = None,
) -> None:
    """Refused relay messages are audited to `audit`."""
    if audit is not None:
        hub.audit = audit
    await attach_server_relay(hub, channel, relay, relay.host_ids(discord_settings.client_bot_user_id))
