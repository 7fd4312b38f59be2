"""The Discord side of `ports.DiscordFront`, over the running server-bot (discord.py)."""

from __future__ import annotations

import discord

from server_bot.mcp.ports import BotPermissions, PostFailed
from shared.mentions import NO_PINGS, neutralise_mentions
from shared.permissions import names


class BotDiscordFront:
    def __init__(self, bot: discord.Client, guild_id: int, client_bot_user_id: int) -> None:
        self._bot = bot
        self._guild_id = guild_id
        self._client_bot_user_id = client_bot_user_id

    def _guild(self) -> discord.Guild | None:
        return self._bot.get_guild(self._guild_id)

    async def member_role_ids(self, user_id: int) -> frozenset[int]:
        guild = self._guild()
        if guild is None:
            return frozenset()
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.HTTPException:
                return frozenset()
        return frozenset(role.id for role in member.roles)

    def bot_permissions(self) -> list[BotPermissions]:
        guild = self._guild()
        if guild is None:
            return [BotPermissions("server", None), BotPermissions("client", None)]
        client = guild.get_member(self._client_bot_user_id)
        return [
            BotPermissions("server", frozenset(names(guild.me.guild_permissions))),
            BotPermissions("client", None if client is None else frozenset(names(client.guild_permissions))),
        ]

    async def post_to_channel(self, channel_id: int, text: str) -> int:
        channel = self._bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise PostFailed("the session's channel is gone")
        try:
            message = await channel.send(neutralise_mentions(text), allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            raise PostFailed(f"Discord refused the message (HTTP {exc.status})") from None
        return message.id
