"""The Discord front's identities: who is asking, as the core's plain `Actor`."""

from __future__ import annotations

import discord

from server_bot.core import Actor
from server_bot.errors import ChatError


def actor_of(user: discord.abc.User | discord.Member) -> Actor:
    """The person behind an interaction or message; a guild member brings their role ids (never names)."""
    if isinstance(user, discord.Member):
        return Actor(user.id, "discord", frozenset(role.id for role in user.roles), user.guild.id)
    return Actor(user.id, "discord")


def guild_member(interaction: discord.Interaction) -> tuple[discord.Guild, discord.Member]:
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise ChatError("This command works in a server only.")
    return interaction.guild, interaction.user
