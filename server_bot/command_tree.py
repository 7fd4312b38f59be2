"""The server-bot's command tree: one place that audits every slash command and tells the user what failed.

`AuditedCommandTree` is passed to the bot as `tree_cls`, so auditing is part of the tree rather than a
handler swapped in at run time. Refusals (`ChatError`, i.e. the core's `CoreError`) show their message;
anything else is a bug: logged with its traceback, and the user gets a short apology. Buttons are not
commands, so they route their errors through `tell(interaction, user_message(exc))` themselves.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from server_bot.errors import ChatError
from shared.audit import AuditLevel, AuditLog, exception_code
from shared.log import get_logger
from shared.mentions import NO_PINGS, neutralise_mentions

if TYPE_CHECKING:
    from discord.ext import commands

log = get_logger(__name__)

UNEXPECTED = "Something went wrong on our side; it has been logged. Please try again."


async def tell(interaction: discord.Interaction, text: str) -> None:
    """Answer ephemerally, whether or not the interaction was already answered. Pings nobody."""
    text = neutralise_mentions(text)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


def user_message(error: BaseException) -> str:
    """What the user is told about `error`; unexpected errors are logged here."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, ChatError):
        log.debug("refused: %s", type(cause).__name__)
        return str(cause)
    if isinstance(cause, app_commands.CommandSignatureMismatch) and isinstance(
        cause.command, app_commands.Group
    ):
        # A bare group (`/chat` with no subcommand): Discord's client never sends it, other clients may.
        names = ", ".join(f"`/{c.qualified_name}`" for c in cause.command.commands)
        return f"Pick one of its subcommands: {names}."
    if isinstance(cause, app_commands.CheckFailure):
        return "You can't use this command here."
    log.error("unexpected error in an interaction", exc_info=cause)
    return UNEXPECTED


def command_code(interaction: discord.Interaction) -> str | None:
    """`ai-admin.status` for `/ai-admin status`: the audit log's code for a slash command."""
    command = interaction.command
    if command is None:
        data: Any = interaction.data or {}
        name = data.get("name") if isinstance(data, dict) else None
        return str(name).lower()[:64] if name else None
    return command.qualified_name.replace(" ", ".").lower()[:64]


def _latency_ms(interaction: discord.Interaction) -> float:
    return max(0.0, (discord.utils.utcnow() - interaction.created_at).total_seconds() * 1000)


class AuditedCommandTree(app_commands.CommandTree["commands.Bot"]):
    """Audits every command's outcome and latency (never its options or any text); answers errors."""

    def __init__(self, client: commands.Bot, *args: Any, **kwargs: Any) -> None:
        super().__init__(client, *args, **kwargs)
        self.audit: AuditLog | None = None  # set by the bot once its context is known
        # Audit writes that finish after the user already has their answer; closing waits for them.
        self._writes: set[asyncio.Task[Any]] = set()

    async def audit_command(
        self, interaction: discord.Interaction, *, success: bool, detail: str | None = None
    ) -> None:
        if self.audit is None:
            return
        write = asyncio.ensure_future(
            self.audit.record(
                "command",
                success=success,
                command=command_code(interaction),
                user_id=interaction.user.id,
                channel_id=interaction.channel_id,
                latency_ms=_latency_ms(interaction),
                detail=detail,
                level=AuditLevel.INFO if success else AuditLevel.WARNING,
            )
        )
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        await asyncio.shield(write)

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await self.audit_command(interaction, success=False, detail=exception_code(cause))
        try:
            await tell(interaction, user_message(error))
        except discord.HTTPException:
            log.warning("could not tell a user about an error", exc_info=True)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait for audit writes still in flight (on close)."""
        if self._writes:
            await asyncio.wait(self._writes, timeout=timeout_s)
