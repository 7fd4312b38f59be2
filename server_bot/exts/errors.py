"""One place that turns exceptions from slash commands and buttons into what the user sees.

`ChatError`s are expected refusals: the user gets their message, ephemerally, and the log a debug line.
Anything else is a bug: logged with its traceback, and the user gets a short apology.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from server_bot.bot import ServerBot
from server_bot.errors import ChatError
from shared.log import get_logger

log = get_logger(__name__)

UNEXPECTED = "Something went wrong on our side; it has been logged. Please try again."


async def tell(interaction: discord.Interaction, text: str) -> None:
    """Answer ephemerally, whether or not the interaction was already answered."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


def user_message(error: BaseException) -> str:
    """What the user is told about `error`; unexpected errors are logged here."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, ChatError):
        log.debug("refused: %s", type(cause).__name__)
        return str(cause)
    if isinstance(cause, app_commands.CheckFailure):
        return "You can't use this command here."
    log.error("unexpected error in an interaction", exc_info=cause)
    return UNEXPECTED


class ErrorHandler(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        bot.tree.error(self.on_app_command_error)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        try:
            await tell(interaction, user_message(error))
        except discord.HTTPException:
            log.warning("could not tell a user about an error", exc_info=True)


async def setup(bot: ServerBot) -> None:
    await bot.add_cog(ErrorHandler(bot))
