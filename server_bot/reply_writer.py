"""Shows one streamed reply in a session channel.

Typing indicator until the first text (or a "you are N in the queue" placeholder the reply replaces);
then the reply message is edited in place as text arrives (paced by the edit bucket Discord reports, one
request kept in reserve for the final edit). A page's first edit is not spread over the window: it follows
the first tokens as soon as the bucket has a spare request, so the reply never sits on one word while the
pacing waits for a share of a window an earlier edit opened (issue #15). Past 2000 characters
the reply continues in new messages (`render.split_reply`). The last page carries a Stop button while the
model writes and a Regenerate button afterwards. Every write neutralises mass mentions and pings nobody.
Every Discord call first takes a request from the bot's budget (`server_bot.discord_budget`): a reply's
first text first, then final text and notices, then streaming edits, then removing an older reply's
Regenerate button (in the background), typing last (skipped while it is tight). A final reply that
arrives while the first write waits for its turn is what that write shows: one write instead of two.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable

import discord
from discord.http import Route

from server_bot.discord_budget import DiscordBudget, Priority, budget_for
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
    button as soon as it no longer applies (a new prompt, a new reply).

    Taking the button away is housekeeping: nobody waits for it, so it runs in the background at the
    budget's lowest priority and never delays the new reply (the core refuses a Regenerate on an older
    reply anyway, and removes the button then). `aclose` cancels what is still pending.
    """

    def __init__(self) -> None:
        self._latest: dict[int, discord.Message] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._tail: dict[int, asyncio.Task[None]] = {}  # per channel, the newest removal

    def remember(self, channel_id: int, message: discord.Message) -> None:
        self._latest[channel_id] = message

    def retire(self, channel_id: int) -> None:
        """Take the Regenerate button off the channel's latest reply, in the background."""
        message = self._latest.pop(channel_id, None)
        if message is None:
            return
        # One removal at a time per channel: removals that waited out a busy spell never burst into
        # one channel's edit bucket together.
        before = self._tail.get(channel_id)
        task = asyncio.create_task(self._take_buttons_away(message, before), name=f"retire:{channel_id}")
        self._tail[channel_id] = task
        self._retiring.add(task)
        task.add_done_callback(functools.partial(self._removed, channel_id))

    def _removed(self, channel_id: int, task: asyncio.Task[None]) -> None:
        self._retiring.discard(task)
        if self._tail.get(channel_id) is task:
            del self._tail[channel_id]

    async def _take_buttons_away(self, message: discord.Message, after: asyncio.Task[None] | None) -> None:
        if after is not None:
            await asyncio.gather(after, return_exceptions=True)
        try:
            # Keep one request of the channel's edit bucket for the reply being written there.
            edits = _edit_route_budget(message)
            if edits is not None and edits.remaining <= 1:
                await asyncio.sleep(edits.reset_in_s)
            await budget_of(message.channel).acquire(Priority.HOUSEKEEPING)
            await message.edit(view=None)
        except discord.HTTPException:
            log.debug("could not remove an old reply's buttons", exc_info=True)
        except RuntimeError:  # the bot closed its HTTP session meanwhile (shutting down)
            log.debug("an old reply's buttons stay: shutting down", exc_info=True)

    def forget(self, channel_id: int) -> None:
        self._latest.pop(channel_id, None)

    async def aclose(self) -> None:
        """Cancel the button removals still waiting (their replies keep a button the core refuses)."""
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)


class ReplyWriter:
    def __init__(
        self,
        channel: discord.TextChannel,
        *,
        stop_view: discord.ui.View | None = None,
        done_view: discord.ui.View | None = None,
        on_first_text: Callable[[], None] | None = None,
    ) -> None:
        self._channel = channel
        self._on_first_text = on_first_text  # called once, when the reply's first text is on screen
        # The Stop button is known once the core accepted the prompt; Regenerate once the reply is stored.
        self.stop_view = stop_view
        self._done_view = done_view
        self._pages: list[discord.Message] = []
        self._shown: list[str] = []
        self._typing: asyncio.Task[None] | None = None
        self._edited: set[int] = set()  # ids of pages edited at least once
        self._has_text = False  # False while nothing or only the queue placeholder is shown
        self._placeholder: str | None = None
        # Every Discord call below first takes a request from the bot's budget (server_bot/discord_budget).
        self._budget = budget_of(channel)
        self._newest = ""
        self._final_text: str | None = None  # known once `finish` is called
        self._final_shown = False  # an intermediate write found the final known and showed it instead
        self._prepaid = False
        self._sender: LatestValueSender[tuple[str, bool]] = LatestValueSender(
            self._render, self._edit_budget, name=f"reply:{channel.id}"
        )

    def start_typing(self) -> None:
        self._typing = asyncio.create_task(self._keep_typing(), name=f"typing:{self._channel.id}")

    def update(self, text: str) -> None:
        """The reply so far; shown as soon as the rate limit allows."""
        if text.strip():
            self._has_text = True
            self._newest = text
            self._stop_typing()
            self._sender.update((text, False))

    def queued(self, text: str) -> None:
        """The prompt waits for the AI host: say so where the reply will appear (the reply replaces it)."""
        if not self._has_text:
            self._placeholder = text
            self._newest = text
            self._sender.update((text, False))

    async def finish(self, text: str, *, done_view: discord.ui.View | None = None) -> None:
        """Show the final reply (all pages; `done_view`, e.g. Regenerate, on the last one)."""
        self._done_view = done_view
        self._final_text = text
        self._stop_typing()
        await self._sender.finish((text, True))

    async def notice(self, text: str) -> None:
        """A separate line from the bot about this reply (offline host, dropped turns, ...)."""
        await self._budget.acquire(Priority.FINAL)
        await self._channel.send(neutralise_mentions(text), allowed_mentions=NO_PINGS)

    async def abandon(self) -> None:
        """No reply will follow: stop, and take away a queue placeholder (it would say "waiting" forever)."""
        self._stop_typing()
        await self._sender.aclose()
        if not self._has_text and self._pages:
            placeholder = self._pages.pop()
            try:
                await placeholder.delete()
            except discord.HTTPException:
                log.debug("could not delete a queue placeholder", exc_info=True)

    @property
    def first_message(self) -> discord.Message | None:
        return self._pages[0] if self._pages else None

    @property
    def last_message(self) -> discord.Message | None:
        return self._pages[-1] if self._pages else None

    async def _render(self, value: tuple[str, bool]) -> None:
        text, final = value
        if self._final_shown:
            return  # an earlier write already showed the final reply, buttons and all
        # Only a queue placeholder on screen still counts as "no text yet" for the reply's first text.
        first = not self._pages or self._shown == [self._placeholder]
        # A final that is also the reply's first text is a first text: the user sees nothing before it.
        priority = Priority.FIRST_TEXT if first else Priority.FINAL if final else Priority.STREAM
        self._prepaid = not final
        early_final = False
        if not final and not self._has_text:
            # Only a queue place to show. Best effort, like typing: skipped while other writes wait for
            # the budget (the replies' text needs it more); a later place or the text itself follows.
            if not self._budget.try_acquire(Priority.STREAM):
                self._prepaid = False
                return
            self._stop_typing()
            text = self._newest
        elif not final:
            # A writer that had to wait for its turn sends only its newest text; if the final reply
            # arrived meanwhile, it sends that, buttons and all: one write instead of two.
            await self._budget.acquire(priority)
            text = self._newest
            if self._final_text is not None:
                text, final, early_final = self._final_text, True, True
        pages = split_reply(neutralise_mentions(text) or "*(no reply)*")
        last = len(pages) - 1
        for index, page in enumerate(pages):
            view = (self._done_view if final else self.stop_view) if index == last else None
            if index >= len(self._pages):
                await self._retire_buttons_of_last_page(priority)
                await self._spend(priority)
                message = await self._channel.send(
                    page, view=view or discord.utils.MISSING, allowed_mentions=NO_PINGS
                )
                self._pages.append(message)
                self._shown.append(page)
                priority = Priority.FINAL if final else Priority.STREAM  # the first text is out
            elif self._shown[index] != page or (index == last and final):
                await self._spend(priority)
                await self._pages[index].edit(content=page, view=view, allowed_mentions=NO_PINGS)
                self._shown[index] = page
                priority = Priority.FINAL if final else Priority.STREAM
                if text != self._placeholder:  # a moved place in the queue is not the reply's first edit
                    self._edited.add(self._pages[index].id)
        self._final_shown = early_final  # only once every page is written (a failed write leaves it False)
        if text != self._placeholder and self._on_first_text is not None:
            on_first_text, self._on_first_text = self._on_first_text, None
            on_first_text()
        if self._prepaid:  # nothing new to show after all
            self._prepaid = False
            self._budget.refund()

    async def _spend(self, priority: Priority) -> None:
        """Take one request from the budget before a Discord call, unless `_render` already took it."""
        if self._prepaid:
            self._prepaid = False
        else:
            await self._budget.acquire(priority)

    async def _retire_buttons_of_last_page(self, priority: Priority) -> None:
        if self._pages:
            await self._spend(priority)
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
        budget = route_budget(discord_internals.channel_http(self._channel), route)
        return first_edit_budget(budget) if self._pages[-1].id not in self._edited else budget

    async def _keep_typing(self) -> None:
        while True:
            try:
                if self._budget.try_acquire(Priority.TYPING):  # skipped when the budget is tight
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


def first_edit_budget(budget: Budget | None, *, reserve: int = 1) -> Budget | None:
    """The budget a page's first edit is paced by: no waiting while a request beyond the `reserve` is
    left. The bucket the last reply (or a removed button) drew from may still be open, and spreading the
    rest of it evenly would leave the first words alone on screen for seconds."""
    if budget is None or budget.remaining <= reserve:
        return budget
    return Budget(remaining=budget.remaining, reset_in_s=0.0)


def _edit_route_budget(message: discord.Message) -> Budget | None:
    """What is left of the edit bucket of `message`'s channel, as Discord last reported it."""
    route = Route(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=message.channel.id,
        message_id=message.id,
    )
    return route_budget(discord_internals.channel_http(message.channel), route)


def budget_of(channel: discord.abc.Messageable) -> DiscordBudget:
    """The request budget of the bot that sends through `channel`."""
    return budget_for(discord_internals.channel_http(channel))
