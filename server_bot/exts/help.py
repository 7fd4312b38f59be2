"""`/help`: what a person can do here, built from the commands the bot actually registered.

The list comes from the command tree, so it never drifts from the real commands; admin commands are
listed in full only to holders of the AI Admin role (others see one line saying who may use them).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from server_bot.bot import ServerBot

ADMIN_GROUP = "ai-admin"
HOW_IT_WORKS = (
    "**How it works**\n"
    "1. `/chat start` opens a private channel only you (and the AI admins) can see.\n"
    "2. Type there to talk to the AI; the reply streams in as it is written.\n"
    "3. `/chat end` closes the chat and saves its transcript."
)


class Help(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What you can do with this bot")
    async def help(self, interaction: discord.Interaction) -> None:
        admin = self._is_admin(interaction.user)
        lines = ["**Commands**"]
        for command in self._commands(interaction.guild):
            if command.qualified_name == "help":
                continue
            if command.qualified_name.startswith(ADMIN_GROUP) and not admin:
                continue
            lines.append(f"`/{command.qualified_name}` — {command.description}")
        if not admin:
            lines.append(f"`/{ADMIN_GROUP} …` — for holders of the {self.bot.ctx.discord.admin_role} role")
        await interaction.response.send_message(
            "\n".join([*lines, "", HOW_IT_WORKS]),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    def _commands(self, guild: discord.Guild | None) -> list[app_commands.Command[Any, ..., Any]]:
        """Every runnable command (subcommands, not their groups), guild ones and global ones."""
        seen: dict[str, app_commands.Command[Any, ..., Any]] = {}
        scopes: list[discord.Guild | None] = [None] if guild is None else [guild, None]
        for scope in scopes:
            for command in self.bot.tree.walk_commands(guild=scope):
                if isinstance(command, app_commands.Command):
                    seen.setdefault(command.qualified_name, command)
        return list(seen.values())

    def _is_admin(self, user: discord.User | discord.Member) -> bool:
        role = self.bot.ctx.discord.admin_role
        return isinstance(user, discord.Member) and any(r.name == role for r in user.roles)


async def setup(bot: ServerBot) -> None:
    await bot.add_cog(Help(bot))
