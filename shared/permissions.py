"""The least Discord permissions each bot needs: one definition for the invite URL and the permission audit.

Bit values come from discord.py's `Permissions`, which follows Discord's permissions reference.
"""

from __future__ import annotations

from typing import Final

import discord

# Manage Channels creates the relay and session channels; Manage Roles is what Discord requires to write
# their per-channel permission overwrites (it also lets the bot edit roles below its own, so its role
# belongs at the bottom of the list). Ban Members is deliberately absent: the bot only needs to learn of
# bans, and they arrive as gateway events (GUILD_MODERATION intent) needing no permission.
SERVER_BOT_PERMISSIONS: Final = discord.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    manage_channels=True,
    manage_roles=True,
    embed_links=True,
    attach_files=True,
)

# The client-bot only reads and writes envelopes in the relay channel (large ones as attachments).
CLIENT_BOT_PERMISSIONS: Final = discord.Permissions(
    view_channel=True, send_messages=True, read_message_history=True, attach_files=True
)


def names(permissions: discord.Permissions) -> list[str]:
    """The names of the permissions that are set, as discord.py spells them (`view_channel`, ...)."""
    return [name for name, granted in permissions if granted]
