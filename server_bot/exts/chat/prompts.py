"""Prompts: a plain message from a session's owner in its channel goes to the core; the reply is shown.

Session channels are recognised by id, from the database, never by name or category.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable

import discord
from discord.ext import commands

from server_bot.actors import actor_of
from server_bot.bot import ServerBot, ServerContext
from server_bot.core import CoreError, PromptBlocked
from server_bot.exts.chat.replies import show_reply
from server_bot.exts.chat.timing import FirstTextTimer
from server_bot.hints import refusal_text
from shared.arrival_order import ArrivalOrder
from shared.log import get_logger
from shared.mentions import NO_PINGS

log = get_logger(__name__)

# Short-lived refusals (rate limits, pauses) tidy themselves away; a moderation refusal stays.
_REFUSAL_SHOWN_S = 30.0
# At start-up, channels with a message this recent are checked for a prompt nobody answered.
_CATCH_UP_WINDOW = datetime.timedelta(minutes=15)
_HANDLED_KEPT = 10_000


class PromptListener(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx
        # Messages this run's gateway delivered: the start-up catch-up must not answer them again.
        self._handled: set[int] = set()
        # Per channel, the order prompts arrived in, kept until each is in line for its turn (`on_message`).
        self._in_line: ArrivalOrder[int] = ArrivalOrder()

    async def cog_unload(self) -> None:
        await self.bot.latest_replies.aclose()  # the bot is closing: pending button removals stop

    @commands.Cog.listener()
    async def on_chat_ready(self, told: frozenset[int]) -> None:
        """Prompts posted while this bot was down (their gateway events are gone) are answered now: a
        session channel whose latest message is a person's, not the bot's, is owed an answer - unless
        its user was just told that a restart cut their prompt off (`told`: those channels)."""
        guild = self.bot.get_guild(self.ctx.discord.guild_id)
        if guild is None:
            return
        since = discord.utils.utcnow() - _CATCH_UP_WINDOW
        owed = []
        for channel in guild.text_channels:
            last = channel.last_message_id
            if channel.id in told or last is None or discord.utils.snowflake_time(last) < since:
                continue  # quiet for long: nothing was posted while the bot was down
            session = await self.ctx.core.sessions.by_channel(channel.id)
            if session is None or not session.is_open:
                continue
            try:  # fetched, not cached: a restart notice may have just been posted after it
                latest = [m async for m in channel.history(limit=1)]
            except discord.HTTPException:
                log.warning("could not read channel %s to catch up", channel.id, exc_info=True)
                continue
            if latest and not latest[0].author.bot and latest[0].id not in self._handled:
                owed.append(latest[0])
        if owed:
            log.info("answering %d prompts posted while the server-bot was down", len(owed))
            await asyncio.gather(*(self.on_message(message) for message in owed))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        arrived = time.time()
        if len(self._handled) < _HANDLED_KEPT:  # only the start-up catch-up needs these, early on
            self._handled.add(message.id)
        if not isinstance(message.channel, discord.TextChannel):
            return
        # discord.py handles each message in its own task, and a prompt's lookups (session, checks) take
        # varying time before it queues for its session's turn: two prompts posted close together could
        # swap. Each waits until the one before it in the channel is in line (its reply started or it
        # was refused), so replies come in the order of their prompts.
        turn = self._in_line.arrive(message.channel.id)
        try:
            await turn.ready()
            await self._answer(message, message.channel, arrived, turn.release)
        finally:
            turn.release()

    async def _answer(
        self,
        message: discord.Message,
        channel: discord.TextChannel,
        arrived: float,
        in_line: Callable[[], None],
    ) -> None:
        session = await self.ctx.core.sessions.by_channel(channel.id)
        if session is None or not session.is_open or message.author.id != session.owner_id:
            return
        timer = FirstTextTimer(message.id, clock=arrived)
        try:
            stream = await self.ctx.core.conversation.submit(
                actor_of(message.author), session.id, message.content
            )
        except CoreError as refusal:
            in_line()
            if isinstance(refusal, PromptBlocked):
                await message.reply(refusal_text(refusal), allowed_mentions=NO_PINGS)
            else:
                await message.reply(
                    refusal_text(refusal), allowed_mentions=NO_PINGS, delete_after=_REFUSAL_SHOWN_S
                )
            return
        await show_reply(channel, stream, self.bot.latest_replies, timer=timer, started=in_line)
