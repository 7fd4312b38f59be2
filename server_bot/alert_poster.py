"""The Discord side of security alerts: `AdminChannelPoster.post_alert` posts to the admin channel.

`server_bot.lifecycle.SecurityAlerts` decides what to post and how often; this only knows where. The admin
channel is found by its remembered id (`channels.ensure_admin_channel`), and nothing in an alert pings.
Alerts are raised from inside the audit path (a refused envelope, a refused command), so the post runs as
a task of its own and never holds up what raised it; `aclose()` cancels posts still in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import discord

from server_bot import channels
from shared.log import get_logger

if TYPE_CHECKING:
    from server_bot.bot import ServerBot

log = get_logger(__name__)


class AdminChannelPoster:
    """An `AlertPoster` for the bot's guild; before the bot is ready an alert is logged and dropped."""

    def __init__(self, bot: ServerBot) -> None:
        self._bot = bot
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def post_alert(self, text: str) -> None:
        if self._closed:  # the bot is shutting down: nobody would read it, and nothing would own the task
            log.warning("security alert dropped: the bot is closing")
            return
        task = asyncio.create_task(self._send(text), name="security-alert")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        self._closed = True
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send(self, text: str) -> None:
        guild = self._bot.get_guild(self._bot.ctx.discord.guild_id)
        if guild is None:
            log.warning("security alert dropped: the guild is not available yet")
            return
        try:
            channel = await channels.ensure_admin_channel(self._bot.ctx, guild)
            await channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("security alert could not be posted: %s", type(exc).__name__)
