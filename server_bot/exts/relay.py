"""Feeds every message in the relay channels to the relay hub."""

from __future__ import annotations

import discord
from discord.ext import commands

from server_bot.bot import ServerBot


class RelayListener(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.channel.id not in self.bot.ctx.hub.channel_ids():
            return
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            return
        await self.bot.ctx.hub.handle(message)


async def setup(bot: ServerBot) -> None:
    await bot.add_cog(RelayListener(bot))
