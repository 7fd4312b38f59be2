"""The Discord side of security alerts: `AdminChannelPoster.post_alert` posts to the admin channel.

`server_bot.lifecycle.SecurityAlerts` decides what to post and how often; this only knows where. The admin
channel is found by its remembered id (`channels.ensure_admin_channel`), and nothing in an alert pings.
"""

from __future__ import annotations

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

    async def post_alert(self, text: str) -> None:
        guild = self._bot.get_guild(self._bot.ctx.discord.guild_id)
        if guild is None:
            log.warning("security alert dropped: the guild is not available yet")
            return
        channel = await channels.ensure_admin_channel(self._bot.ctx, guild)
        await channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())
