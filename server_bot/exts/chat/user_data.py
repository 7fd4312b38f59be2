"""`/chat forget` and `/chat export` on Discord: confirm, call the core's `UserData`, deliver privately.

Forget asks first with an ephemeral Confirm / Cancel pair that only the asking user can press; doing
nothing lets it time out with nothing deleted. Export answers with the JSON document as an ephemeral
attachment, so only the asking user ever sees it.
"""

from __future__ import annotations

import contextlib
import io

import discord

from server_bot import channels
from server_bot.actors import actor_of
from server_bot.bot import ServerContext
from server_bot.command_tree import tell, user_message
from server_bot.core import EXPORT_FILENAME, Actor
from shared.log import get_logger
from shared.mentions import NO_PINGS

log = get_logger(__name__)

FORGET_QUESTION = (
    "This deletes **all** your chats here: every message, transcript and record of you, and your chat "
    "channels. It cannot be undone. Delete everything?"
)
FORGET_CANCELLED = "Cancelled: nothing was deleted."
FORGET_TIMED_OUT = "No answer, so nothing was deleted. Run `/chat forget` again if you meant it."
FORGET_WORKING = "Deleting your data…"
# Discord's attachment limit for bots without a boosted server.
EXPORT_MAX_BYTES = 10 * 1024 * 1024
CONFIRM_TIMEOUT_S = 60.0


def forget_done_text(sessions: int, messages: int) -> str:
    return f"Done: I deleted {sessions} chats, {messages} messages and everything else I kept about you."


class ForgetConfirmation(discord.ui.View):
    """Confirm / Cancel for one user's forget; nobody else can press them."""

    def __init__(self, ctx: ServerContext, actor: Actor, timeout_s: float = CONFIRM_TIMEOUT_S) -> None:
        super().__init__(timeout=timeout_s)
        self.ctx = ctx
        self.actor = actor
        self.asked: discord.Interaction | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.actor.user_id:
            return True
        await tell(interaction, "Only the person who asked can answer this.")
        return False

    @discord.ui.button(label="Delete everything", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction, _: discord.ui.Button[ForgetConfirmation]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(content=FORGET_WORKING, view=None)
        report = await self.ctx.core.user_data.forget(self.actor)
        # Tell the user before their channels go: they may have asked from one of them.
        with contextlib.suppress(discord.HTTPException):
            await interaction.edit_original_response(
                content=forget_done_text(report.sessions, report.messages)
            )
        if interaction.guild is not None:
            for channel_id in report.channel_ids:
                await channels.delete_session_channel(interaction.guild, channel_id, "/chat forget")
        log.info("a user's data was forgotten (%d sessions)", report.sessions)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction, _: discord.ui.Button[ForgetConfirmation]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(content=FORGET_CANCELLED, view=None)

    async def on_timeout(self) -> None:
        if self.asked is not None:
            try:
                await self.asked.edit_original_response(content=FORGET_TIMED_OUT, view=None)
            except discord.HTTPException:
                log.warning("could not say that a forget question timed out", exc_info=True)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[ForgetConfirmation]
    ) -> None:
        with contextlib.suppress(discord.HTTPException):
            await tell(interaction, user_message(error))


async def ask_to_forget(ctx: ServerContext, interaction: discord.Interaction) -> None:
    view = ForgetConfirmation(ctx, actor_of(interaction.user), CONFIRM_TIMEOUT_S)
    await interaction.response.send_message(
        FORGET_QUESTION, view=view, ephemeral=True, allowed_mentions=NO_PINGS
    )
    view.asked = interaction


async def send_export(ctx: ServerContext, interaction: discord.Interaction) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    document = await ctx.core.user_data.export(actor_of(interaction.user))
    if len(document) > EXPORT_MAX_BYTES:
        await interaction.followup.send(
            f"Your data ({len(document) // (1024 * 1024)} MiB) is larger than Discord lets me attach. "
            "Download it from the web app instead, or ask an admin.",
            ephemeral=True,
        )
        return
    await interaction.followup.send(
        "Your data, as JSON (only you can see this):",
        file=discord.File(io.BytesIO(document), filename=EXPORT_FILENAME),
        ephemeral=True,
    )
