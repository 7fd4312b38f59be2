"""Shows one streamed reply in a session channel.

Typing indicator until the first text; then the reply message is edited in place as text arrives (paced
by the edit bucket Discord reports, one request kept in reserve for the final edit); past 2000 characters
the reply continues in new messages (`render.split_reply`). The last page carries a Stop button while the
model writes and a Regenerate button afterwards. Every write neutralises mass mentions and pings nobody.
"""

from __future__ import annotations

import asyncio
import contextlib

import discord
from discord.http import Route

from server_bot.render import split_reply
from shared import discord_internals
from shared.log import get_logger
from shared.mentions import NO_PINGS, neutralise_mentions
from shared.pacing import Budget, LatestValueSender, route_budget

log = get_logger(__name__)
# Discord's typing indicator lasts about 10 s; renew a little before it fades.
_TYPING_RENEW_S = 8.0


class LatestReplies:
    """Per channel, the message holding the latest reply's Regenerate button; an older reply loses its
    button as soon as it no longer applies (a new prompt, a new reply)."""

    def __init__(self) -> None:
        self._latest: dict[int, discord.Message] = {}

    def remember(self, channel_id: int, message: discord.Message) -> None:
        self._latest[channel_id] = message

    async def retire(self, channel_id: int) -> None:
        message = self._latest.pop(channel_id, None)
        if message is not None:
            try:
                await message.edit(view=None)
            except discord.HTTPException:
                log.debug("could not remove an old reply's buttons", exc_info=True)

    def forget(self, channel_id: int) -> None:
        self._latest.pop(channel_id, None)


class ReplyWriter:
    def __init__(
        self,
        channel: discord.TextChannel,
        *,
        stop_view: discord.ui.View | None = None,
        done_view: discord.ui.View | None = None,
    ) -> None:
        self._channel = channel
        # The Stop button is known once the core accepted the prompt; Regenerate once the reply is stored.
        self.stop_view = stop_view
        self._done_view = done_view
        self._pages: list[discord.Message] = []
        self._shown: list[str] = []
        self._typing: asyncio.Task[None] | None = None
        self._sender: LatestValueSender[tuple[str, bool]] = LatestValueSender(
            self._render, self._edit_budget, name=f"reply:{channel.id}"
        )

    def start_typing(self) -> None:
        self._typing = asyncio.create_task(self._keep_typing(), name=f"typing:{self._channel.id}")

    def update(self, text: str) -> None:
        """The reply so far; shown as soon as the rate limit allows."""
        if text.strip():
            self._stop_typing()
            self._sender.update((text, False))

    async def finish(self, text: str, *, done_view: discord.ui.View | None = None) -> None:
        """Show the final reply (all pages; `done_view`, e.g. Regenerate, on the last one)."""
        self._done_view = done_view
        self._stop_typing()
        await self._sender.finish((text, True))

    async def notice(self, text: str) -> None:
        """A separate line from the bot about this reply (offline host, dropped turns, ...)."""
        await self._channel.send(neutralise_mentions(text), allowed_mentions=NO_PINGS)

    async def abandon(self) -> None:
        self._stop_typing()
        await self._sender.aclose()

    @property
    def first_message(self) -> discord.Message | None:
        return self._pages[0] if self._pages else None

    @property
    def last_message(self) -> discord.Message | None:
        return self._pages[-1] if self._pages else None

    async def _render(self, value: tuple[str, bool]) -> None:
        text, final = value
        pages = split_reply(neutralise_mentions(text) or "*(no reply)*")
        last = len(pages) - 1
        for index, page in enumerate(pages):
            view = (self._done_view if final else self.stop_view) if index == last else None
            if index >= len(self._pages):
                await self._retire_buttons_of_last_page()
                message = await self._channel.send(
                    page, view=view or discord.utils.MISSING, allowed_mentions=NO_PINGS
                )
                self._pages.append(message)
                self._shown.append(page)
            elif self._shown[index] != page or (index == last and final):
                await self._pages[index].edit(content=page, view=view, allowed_mentions=NO_PINGS)
                self._shown[index] = page

    async def _retire_buttons_of_last_page(self) -> None:
        if self._pages:
            await self._pages[-1].edit(view=None)

    def _edit_budget(self) -> Budget | None:
        if not self._pages:
            return None
        route = Route(
            "PATCH",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=self._channel.id,
            message_id=self._pages[-1].id,
        )
        return route_budget(discord_internals.channel_http(self._channel), route)

    async def _keep_typing(self) -> None:
        while True:
            try:
                await self._channel.typing()
            except discord.HTTPException:
                log.debug("typing indicator failed", exc_info=True)
            await asyncio.sleep(_TYPING_RENEW_S)

    def _stop_typing(self) -> None:
        if self._typing is not None:
            self._typing.cancel()
            self._typing = None

    async def aclose(self) -> None:
        self._stop_typing()
        with contextlib.suppress(Exception):
            await self._sender.aclose()
