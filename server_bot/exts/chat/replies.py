"""A reply in a session channel: render the core's reply stream, and the buttons that act on a reply.

`show_reply` shows typing, then the text as it streams, notices, and the final reply with a Regenerate
button. The buttons are dynamic items, so they keep working across restarts, and each names what it acts
on: Stop its request id, Regenerate its reply id. The core decides whether the action still applies (a
Regenerate on an older reply is refused and its button removed).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord

from server_bot.actors import actor_of
from server_bot.command_tree import tell, user_message
from server_bot.core import (
    Accepted,
    ContextDropped,
    Failed,
    FallbackReply,
    Finished,
    HostOffline,
    Queued,
    ReplyNotRegenerable,
    ReplyStream,
    RequestNotFound,
    TextSoFar,
    Withheld,
)
from server_bot.exts.chat.timing import FirstTextTimer
from server_bot.hints import context_dropped_text, failure_text
from server_bot.reply_writer import LatestReplies, ReplyWriter
from shared.log import get_logger
from shared.mentions import NO_PINGS, neutralise_mentions

if TYPE_CHECKING:
    from server_bot.bot import ServerBot

log = get_logger(__name__)


async def show_reply(
    channel: discord.TextChannel,
    stream: ReplyStream,
    latest: LatestReplies,
    *,
    timer: FirstTextTimer | None = None,
    started: Callable[[], None] | None = None,
) -> None:
    """Consume `stream` to its end, showing it in `channel`. Closing early stops the request.

    `started` is called with each event (so first with the first: the prompt then has its place in
    its session's turn, or was answered at once); it must not mind being called again."""
    writer = ReplyWriter(channel, on_first_text=None if timer is None else lambda: timer.reached("write"))
    writer.start_typing()
    dropped: ContextDropped | None = None
    try:
        async with contextlib.aclosing(stream):
            async for event in stream:
                _observe(event, timer, started)
                if isinstance(event, Accepted):
                    # A new prompt: the previous reply can no longer be regenerated.
                    latest.retire(channel.id)  # in the background: it must not delay this reply
                    writer.stop_view = one_button(StopButton(event.request_id))
                elif isinstance(event, TextSoFar):
                    writer.update(event.text)
                elif isinstance(event, HostOffline):
                    await writer.notice(event.message)
                elif isinstance(event, ContextDropped):
                    dropped = event
                elif isinstance(event, Finished):
                    view = None if event.reply_id is None else one_button(RegenerateButton(event.reply_id))
                    await writer.finish(event.text + event.suffix, done_view=view)
                    if view is not None and writer.last_message is not None:
                        latest.remember(channel.id, writer.last_message)
                elif isinstance(event, Withheld):
                    await writer.finish(event.message)
                elif isinstance(event, Failed):
                    await _abandon(writer)
                    if event.code != "session_closed":  # the channel is going away
                        await writer.notice(failure_text(event))
                elif isinstance(event, FallbackReply):
                    await _abandon(writer)
                    await channel.send(neutralise_mentions(event.text), allowed_mentions=NO_PINGS)
                elif isinstance(event, Queued):
                    writer.queued(event.message)  # edited as the place changes, replaced by the reply
        if dropped is not None:
            await writer.notice(context_dropped_text(dropped))
    except discord.NotFound:
        log.info("session channel %s vanished while a reply was shown", channel.id)
    except Exception as exc:
        if _shut_down(exc):  # the prompt is answered after the restart (the start-up catch-up)
            log.info("a reply in channel %s was cut off by the shutdown", channel.id)
            return
        # Never a half-written reply with a live Stop button: retire it and say what happened.
        log.exception("a reply in channel %s failed", channel.id)
        with contextlib.suppress(discord.HTTPException):
            await _abandon(writer)
            await writer.notice(user_message(exc))
    finally:
        await writer.aclose()


def _observe(event: object, timer: FirstTextTimer | None, started: Callable[[], None] | None) -> None:
    if started is not None:
        started()
    if timer is not None and isinstance(event, Accepted | TextSoFar | Finished):
        timer.reached("accept" if isinstance(event, Accepted) else "relay")


def _shut_down(exc: Exception) -> bool:
    """Is this aiohttp's error for a request after the bot closed its HTTP session (shutting down)?"""
    return isinstance(exc, RuntimeError) and str(exc) == "Session is closed"


async def _abandon(writer: ReplyWriter) -> None:
    """Stop showing a reply that will not be finished, and take its Stop button away."""
    await writer.abandon()
    if writer.last_message is not None and writer.last_message.components:
        await writer.last_message.edit(view=None)


# ---- buttons ---------------------------------------------------------------------------------------


def one_button(item: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(item)
    return view


async def _answering_errors(interaction: discord.Interaction, work: Coroutine[Any, Any, None]) -> None:
    """Buttons bypass the command tree's error handler; route their errors through the same messages."""
    try:
        await work
    except Exception as exc:
        await tell(interaction, user_message(exc))


def _bot(interaction: discord.Interaction) -> ServerBot:
    return interaction.client  # type: ignore[return-value]


class StopButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ml:stop:(?P<request_id>[0-9a-f]{16})"
):
    """Stops the reply being written."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Stop", style=discord.ButtonStyle.danger, custom_id=f"ml:stop:{request_id}"
            )
        )
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StopButton:
        return cls(match["request_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _answering_errors(interaction, self._stop(interaction))

    async def _stop(self, interaction: discord.Interaction) -> None:
        try:
            await _bot(interaction).ctx.core.conversation.stop(actor_of(interaction.user), self.request_id)
        except RequestNotFound:
            if interaction.message is not None:
                await interaction.message.edit(view=None)
            raise
        await interaction.response.defer()


class RegenerateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ml:regen:(?P<reply_id>[0-9]{1,19})"
):
    """Answers again the prompt that THIS reply answered, while it is the chat's latest reply."""

    def __init__(self, reply_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Regenerate", style=discord.ButtonStyle.secondary, custom_id=f"ml:regen:{reply_id}"
            )
        )
        self.reply_id = reply_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RegenerateButton:
        return cls(int(match["reply_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await _answering_errors(interaction, self._regenerate(interaction))

    async def _regenerate(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        try:
            stream = await bot.ctx.core.conversation.regenerate(actor_of(interaction.user), self.reply_id)
        except ReplyNotRegenerable:
            if interaction.message is not None:  # it no longer applies: take it away
                await interaction.message.edit(view=None)
            raise
        if not isinstance(interaction.channel, discord.TextChannel):
            await stream.aclose()
            return
        await interaction.response.defer()
        if interaction.message is not None:
            await interaction.message.edit(view=None)
        await show_reply(interaction.channel, stream, bot.latest_replies)
