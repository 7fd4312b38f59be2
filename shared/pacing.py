"""Send a changing thing (a streamed reply) as often as Discord allows: newest value wins, last value always.

Both bots stream: the client-bot posts sealed deltas into the relay channel, the server-bot edits the
user's reply message. Each Discord route has a bucket (`X-RateLimit-Limit/Remaining/Reset-After`), and
discord.py keeps the last headers it saw per bucket. `route_budget` reads them, so pacing follows what
Discord actually said rather than a guessed rate. `LatestValueSender` coalesces updates while a send is
in flight or the bucket is nearly empty, and keeps one request of the bucket in reserve so the final value
(the complete reply) never queues behind an intermediate one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from discord.http import HTTPClient, Route

from shared import discord_internals
from shared.log import get_logger

log = get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Budget:
    """What is left of a route's bucket: requests that may still be sent, and seconds until it refills."""

    remaining: int
    reset_in_s: float


def route_budget(http: HTTPClient, route: Route) -> Budget | None:
    """The bucket state discord.py recorded for `route`, or None before the first response."""
    state = discord_internals.bucket_budget(http, route)
    return None if state is None else Budget(remaining=state[0], reset_in_s=state[1])


class LatestValueSender(Generic[T]):
    """Coalesce updates to one value and send them paced; `finish` sends the final value and returns.

    `send` performs one Discord request; `budget` reports the bucket that request draws from.
    Intermediate values are skipped freely (each one supersedes the last); the final one never is.
    """

    def __init__(
        self,
        send: Callable[[T], Awaitable[None]],
        budget: Callable[[], Budget | None],
        *,
        reserve: int = 1,
        name: str = "stream",
    ) -> None:
        self._send = send
        self._budget = budget
        self._reserve = reserve
        self._name = name
        self._pending: T | None = None
        self._final: T | None = None
        self._finished = False
        self._wakeup = asyncio.Event()
        self._finishing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_send: float | None = None

    def update(self, value: T) -> None:
        """Offer a newer value; it replaces any value not yet sent."""
        if self._finished:
            return
        self._pending = value
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"pace:{self._name}")

    async def finish(self, value: T) -> None:
        """Send `value` as the last word (after any send in flight), then stop."""
        self._final = value
        self._finished = True
        self._finishing.set()
        self._wakeup.set()
        if self._task is None:
            await self._send(value)
            return
        await self._task

    async def aclose(self) -> None:
        """Stop without a final value (the stream was abandoned)."""
        self._finished = True
        self._finishing.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._finished:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._finished or self._pending is None:
                continue
            wait = self._wait_for_budget()
            if wait > 0:
                # Wake early if the final value arrives: it may use the reserved request.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._finishing.wait(), timeout=wait)
                self._wakeup.set()
                continue
            value, self._pending = self._pending, None
            self._last_send = time.monotonic()
            try:
                await self._send(value)
            except Exception:
                # An intermediate update may fail (a transient 5xx); the final one carries everything.
                log.warning("intermediate update of %s failed", self._name, exc_info=True)
            if self._has_pending():  # `update` may have run while we awaited the send
                self._wakeup.set()
        if self._final is not None:
            await self._send(self._final)

    def _has_pending(self) -> bool:
        return self._pending is not None

    def _wait_for_budget(self) -> float:
        """Seconds to hold an intermediate value. Spreading sends evenly over what is left of the window,
        rather than spending the bucket in a burst, leaves room for the next stream's first update."""
        budget = self._budget()
        if budget is None:
            return 0.0
        spare = budget.remaining - self._reserve
        if spare <= 0:
            return max(budget.reset_in_s, 0.01)
        if self._last_send is None:
            return 0.0  # the first update shows the user something as soon as possible
        interval = budget.reset_in_s / spare
        return max(0.0, self._last_send + interval - time.monotonic())


def spacing_delay(budget: Budget | None, last_send: float | None, now: float, *, reserve: int = 0) -> float:
    """Seconds to wait before the next request so the bucket's remaining requests spread over its window.

    None (no headers seen yet) or a first send: no wait. An empty bucket: wait for its reset.
    """
    if budget is None:
        return 0.0
    spare = budget.remaining - reserve
    if spare <= 0:
        return max(budget.reset_in_s, 0.01)
    if last_send is None:
        return 0.0
    return max(0.0, last_send + budget.reset_in_s / spare - now)


def relay_post_delay(
    budget: Budget | None,
    last_post: float | None,
    now: float,
    *,
    urgent: bool,
    early_left: int,
    early_gap_s: float = 0.0,
) -> float:
    """Seconds the relay waits before its next post.

    Posts are spread evenly over what is left of the bucket (`spacing_delay`), which keeps requests in
    hand until the window resets, so the next conversation never meets an empty bucket. An urgent batch
    (one a user is waiting on: a request's first text, a final answer, a prompt, a cancel) goes at once
    instead, `early_left` more times in this window, but at least `early_gap_s` after the previous post:
    when many users' messages arrive together (a burst of prompts), each early post then gathers what
    arrived meanwhile instead of spending the window's early posts on one message each. An early post is
    paid for by slightly longer gaps
    between the ordinary posts after it, never by a 429. An empty bucket waits for its reset.
    """
    if budget is None:
        return 0.0
    if budget.remaining <= 0:
        return max(budget.reset_in_s, 0.01)
    if urgent and early_left > 0:
        gap = 0.0 if last_post is None else max(0.0, last_post + early_gap_s - now)
        return min(gap, spacing_delay(budget, last_post, now))
    return spacing_delay(budget, last_post, now)
