"""What the core tells the Discord front outside a reply: closed and transferred sessions, prompts a
restart interrupted, moderation alerts for admins."""

from __future__ import annotations

import discord
from discord.ext import commands

from server_bot import channels
from server_bot.bot import ServerBot, ServerContext
from server_bot.core import (
    CoreNotice,
    ModerationAlert,
    RequestInterrupted,
    SessionClosed,
    SessionTransferred,
)
from shared.log import get_logger
from shared.mentions import NO_PINGS, neutralise_mentions

log = get_logger(__name__)


class SessionNotices(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx

    async def cog_load(self) -> None:
        self.ctx.core.subscribe(self.on_notice)

    async def cog_unload(self) -> None:
        self.ctx.core.notices.unsubscribe(self.on_notice)

    async def on_notice(self, notice: CoreNotice) -> None:
        guild = self.bot.get_guild(self.ctx.discord.guild_id)
        if guild is None:
            return
        if isinstance(notice, ModerationAlert):
            await self._alert_admins(guild, notice)
            return
        if notice.front_end != "discord" or notice.channel_id is None:
            return
        if isinstance(notice, SessionClosed):
            self.bot.latest_replies.forget(notice.channel_id)
            if notice.closed_via != "discord" or notice.reason != "ended":  # else `/chat end` tidies up
                await channels.delete_session_channel(
                    guild, notice.channel_id, f"chat closed: {notice.reason}"
                )
            if notice.reason == "idle":
                await self._tell_closed_for_idling(notice.owner_id)
        elif isinstance(notice, SessionTransferred):
            await self._hand_over(guild, notice)
        elif isinstance(notice, RequestInterrupted):
            channel = guild.get_channel(notice.channel_id)
            if isinstance(channel, discord.TextChannel):
                await _retire_stop_button(channel, notice.request_id)
                await channel.send(f"<@{notice.owner_id}> {notice.message}", allowed_mentions=NO_PINGS)

    async def _tell_closed_for_idling(self, owner_id: int) -> None:
        """Its channel is gone, so the owner is told in a direct message (if they accept those)."""
        idle = idle_duration(self.ctx.chat.idle_close_after_s)
        text = (
            f"Your private AI chat was closed after {idle} without a message; its transcript is saved. "
            "`/chat start` opens a new one."
        )
        try:
            user = self.bot.get_user(owner_id) or await self.bot.fetch_user(owner_id)
            await user.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.info("could not tell user %s that their idle chat was closed", owner_id)

    async def _hand_over(self, guild: discord.Guild, notice: SessionTransferred) -> None:
        channel = guild.get_channel(notice.channel_id or 0)
        if not isinstance(channel, discord.TextChannel):
            return
        member = guild.get_member(notice.new_owner_id) or await guild.fetch_member(notice.new_owner_id)
        overwrites = channels.session_overwrites(
            guild, member, await channels.admin_role(self.ctx, guild), self.ctx.discord.client_bot_user_id
        )
        await channel.edit(
            name=f"chat-{member.name}"[:100],
            topic=f"Private AI chat of {member.display_name}",
            overwrites=overwrites,
            reason="AI admin transferred the session",
        )
        await channel.send(f"This chat now belongs to {member.mention}.", allowed_mentions=NO_PINGS)

    async def _alert_admins(self, guild: discord.Guild, alert: ModerationAlert) -> None:
        where = f" in <#{alert.channel_id}>" if alert.channel_id else ""
        lines = [f"⚠️ **Moderation alert**: a {alert.direction} of <@{alert.user_id}>{where}"]
        for match in alert.verdict.matches:
            excerpt = discord.utils.escape_markdown(neutralise_mentions(match.excerpt))
            lines.append(f"- rule `{match.rule}` ({match.action.value}): “{excerpt}”")
        if alert.verdict.suspend_for is not None:
            lines.append(f"The user is suspended for {alert.verdict.suspend_for}.")
        try:
            channel = await channels.ensure_admin_channel(self.ctx, guild)
            await channel.send("\n".join(lines)[:2000], allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("could not post a moderation alert", exc_info=True)


def idle_duration(seconds: float) -> str:
    """'2 hours', '45 minutes', '30 seconds': how long a chat sat idle, in words."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = round(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


async def _retire_stop_button(channel: discord.TextChannel, request_id: str) -> None:
    """The reply the last run was writing keeps its Stop button: take it away (nobody will finish it)."""
    stop_id = f"ml:stop:{request_id}"  # = replies.StopButton's custom id
    try:
        async for message in channel.history(limit=25):
            rows = [row for row in message.components if isinstance(row, discord.ActionRow)]
            custom_ids = [getattr(item, "custom_id", None) for row in rows for item in row.children]
            if message.author == channel.guild.me and stop_id in custom_ids:
                await message.edit(view=None)
                return
    except discord.HTTPException:
        log.warning("could not retire the Stop button of request %s", request_id, exc_info=True)
