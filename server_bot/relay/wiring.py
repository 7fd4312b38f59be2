"""Attach the relay once the guild is ready: one link per host, all in the bots-only relay channels.

The channels themselves (remembered by id, every host let in) are `server_bot.channels.ensure_relay_channels`.
"""

from __future__ import annotations

import discord

from server_bot.relay.hub import RelayHub
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
    """Refused relay messages are audited to `audit`."""
    if audit is not None:
        hub.audit = audit
    await attach_server_relay(hub, channels, relay, relay.host_ids(discord_settings.client_bot_user_id))
