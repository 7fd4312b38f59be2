"""Prompts: a plain message from a session's owner in its channel goes to the core; the reply is shown.

Session channels are recognised by id, from the database, never by name or category.
"""

from __future__ import annotations

import discord
from discord.ext import commands

from server_bot.actors import actor_of
from server_bot.bot import ServerBot, ServerContext
from server_bot.core import CoreError, PromptBlocked
from server_bot.exts.chat.replies import show_reply
from shared.log import get_logger
from shared.mentions import NO_PINGS

log = get_logger(__name__)

# Short-lived refusals (rate limits, pauses) tidy themselves away; a moderation refusal stays.
_REFUSAL_SHOWN_S = 30.0


class PromptListener(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        if not isinstance(message.channel, discord.TextChannel):
            return
        session = await self.ctx.core.sessions.by_channel(message.channel.id)
        if session is None or not session.is_open or message.author.id != session.owner_id:
            return
        try:
            stream = await self.ctx.core.conversation.submit(
                actor_of(message.author), session.id, message.content
            )
        except CoreError as refusal:
            if isinstance(refusal, PromptBlocked):
                await message.reply(refusal.user_message, allowed_mentions=NO_PINGS)
            else:
                await message.reply(
                    refusal.user_message, allowed_mentions=NO_PINGS, delete_after=_REFUSAL_SHOWN_S
                )
            return
        await show_reply(message.channel, stream, self.bot.latest_replies)
