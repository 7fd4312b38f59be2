"""Feeds every message in the relay channel to the relay hub."""

from __future__ import annotations

import discord
from discord.ext import commands

from server_bot.bot import ServerBot


class RelayListener(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        link = self.bot.ctx.hub.link
        if link is None or message.channel.id != link.channel.id:
            return
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            return
        await self.bot.ctx.hub.handle(message)


async def setup(bot: ServerBot) -> None:
    await bot.add_cog(RelayListener(bot))
