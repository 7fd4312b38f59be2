"""Safety wiring on Discord: guild bans and unbans reach the core, and every completed command is audited.

- A ban (GUILD_BAN_ADD) marks the user banned in the core, which refuses them everywhere and closes their
  open session through the one close path (transcript saved; the channel is removed on the notice).
- Every slash command is audited by the command tree (`server_bot.command_tree`): failures in its
  `on_error`, successes here, on discord.py's completion event.
- Moderation itself is the core's (`server_bot.core.moderation`); its admin alerts arrive as notices.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from server_bot.bot import ServerBot, ServerContext
from server_bot.command_tree import AuditedCommandTree
from shared.log import get_logger

log = get_logger(__name__)


class Safety(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx

    @commands.Cog.listener()
    async def on_app_command_completion(
        self, interaction: discord.Interaction, _command: app_commands.Command[Any, Any, Any]
    ) -> None:
        if isinstance(self.bot.tree, AuditedCommandTree):
            await self.bot.tree.audit_command(interaction, success=True)

    @commands.Cog.listener()
    async def on_member_ban(self, guild: discord.Guild, user: discord.User | discord.Member) -> None:
        if guild.id != self.ctx.discord.guild_id:
            return
        await self.ctx.core.access.ban(user.id)
        await self.ctx.audit.record("member_banned", success=True, user_id=user.id)
        log.info("user %s banned from the guild: marked banned", user.id)

    @commands.Cog.listener()
    async def on_chat_ready(self, _told: frozenset[int]) -> None:
        """Guild bans made while this bot was offline (their events are gone) are applied at start-up."""
        guild = self.bot.get_guild(self.ctx.discord.guild_id)
        if guild is None:
            return
        try:
            banned = [entry.user.id async for entry in guild.bans(limit=None)]
        except discord.HTTPException as exc:  # e.g. Forbidden: the bot lacks Ban Members
            log.warning("could not read the guild's bans at start-up: %s", exc)
            return
        for user_id in await self.ctx.core.access.apply_bans(banned):
            await self.ctx.audit.record(
                "member_banned", success=True, user_id=user_id, detail="while_offline"
            )
            log.info("user %s was banned while the server-bot was offline: marked banned", user_id)

    @commands.Cog.listener()
    async def on_member_unban(self, guild: discord.Guild, user: discord.User) -> None:
        if guild.id != self.ctx.discord.guild_id:
            return
        await self.ctx.core.access.unban(user.id)
        await self.ctx.audit.record("member_unbanned", success=True, user_id=user.id)
        log.info("user %s unbanned", user.id)


async def setup(bot: ServerBot) -> None:
    await bot.add_cog(Safety(bot))
