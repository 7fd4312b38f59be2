"""One request budget per bot token for the server-bot's user-facing Discord writes.

Discord limits every bot to 50 requests per second across all routes (the global limit), on top of each
route's own bucket. When 100 users post at once, their replies, streaming edits and typing indicators
together overspend it and Discord answers 429. `DiscordBudget` is a token bucket kept under that limit
with headroom for what is not budgeted (the relay's posts, slash-command answers), shared by every reply
writer of one bot. Per-route buckets are still paced by `shared.pacing` from Discord's headers; this
budget only decides *whose turn* it is within the global limit.

Waiters are served by priority, then in arrival order:

0. `RELAY`: the server-bot's relay posts (prompts to the AI hosts). Every reply waits on one, and there
   are at most about one a second per relay channel, so they cannot crowd the rest out;
1. `FIRST_TEXT`: the first visible text of a reply (what "time to first text" measures): until it is
   shown, the user sees nothing for their prompt;
2. `FINAL`: a reply's last word, and notices (what the user must see; never skipped). A final waiting
   longer than `final_promote_s` goes ahead of every first text, so finals are delayed, never starved;
3. `STREAM`: intermediate streaming edits; a writer waiting here sends its newest text when its turn
   comes, so waiting coalesces updates;
4. `HOUSEKEEPING`: edits no one is waiting for (removing an older reply's Regenerate button), done in
   the background when nothing else waits;
5. `TYPING`: typing indicators, taken only through `try_acquire` and skipped when the budget is tight.

Why first text before finals: with many replies in flight the budget is what they queue for, and a
reply whose text is already on screen loses less by waiting than one that shows nothing yet (its final
edit usually follows within the same second). In a back-to-back conversation the next prompt only comes
after the final, so first texts cannot crowd finals out for long; `final_promote_s` bounds it anyway.

The bucket holds at most `burst` requests and refills at `rate` per second, so no fixed one-second window
(Discord's, devcord's) sees more than `burst + rate` budgeted requests. Clock and sleep are injectable, so
the tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from enum import IntEnum

from shared import metrics

# 50/s global; burst + rate = 44 leaves ~6 requests per second for the few unbudgeted writes (slash
# command answers are exempt from the global limit; channel set-up at start-up) and for requests that
# land in the next window a little late. The relay's posts are budgeted (`Priority.RELAY`).
DEFAULT_RATE_PER_S = 36.0
DEFAULT_BURST = 8
# A final that has waited this long is served before any first text.
DEFAULT_FINAL_PROMOTE_S = 1.0
# Float slack: a bucket refilled to 0.9999999999 after sleeping exactly long enough holds one request.
_EPSILON = 1e-6


class Priority(IntEnum):
    """Lower value, served first."""

    RELAY = 0
    FIRST_TEXT = 1
    FINAL = 2
    STREAM = 3
    HOUSEKEEPING = 4
    TYPING = 5


class DiscordBudget:
    """A token bucket with prioritised waiters; `acquire` before each Discord request it covers."""

    def __init__(
        self,
        rate_per_s: float = DEFAULT_RATE_PER_S,
        burst: int = DEFAULT_BURST,
        *,
        final_promote_s: float = DEFAULT_FINAL_PROMOTE_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a Discord budget needs a positive rate and a burst of at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.final_promote_s = final_promote_s
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        # (priority, arrival order, asked at, future); few at a time, scanned in `_next_waiter`.
        self._waiters: list[tuple[int, int, float, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._server: asyncio.Task[None] | None = None
        # What was granted per priority, and typing indicators skipped: for logs and the bench.
        self.granted: Counter[Priority] = Counter()
        self.skipped = 0

    @property
    def waiting(self) -> int:
        return sum(1 for *_, future in self._waiters if not future.done())

    async def acquire(self, priority: Priority) -> None:
        """Wait for one request's worth of budget; earlier priorities are served first."""
        self._refill()
        if not self._waiters and self._tokens >= 1 - _EPSILON:
            self._take(priority)
            metrics.budget_waited(priority.name, 0.0)
            return
        asked = self._clock()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((int(priority), next(self._order), asked, future))
        if self._server is None or self._server.done():
            self._server = asyncio.create_task(self._serve(), name="discord-budget")
        await future  # a caller cancelled here leaves a cancelled future, which `_serve` skips
        metrics.budget_waited(priority.name, self._clock() - asked)

    def try_acquire(self, priority: Priority = Priority.TYPING) -> bool:
        """Take a request now if the budget is not tight, else False (and the caller skips its request).

        Tight means someone is waiting, or (for typing) taking one would leave less than half the burst,
        which keeps room for the replies that follow a burst of new prompts.
        """
        self._refill()
        floor = self.burst / 2 + 1 if priority >= Priority.TYPING else 1.0
        if self.waiting or self._tokens < floor - _EPSILON:
            self.skipped += 1
            return False
        self._take(priority)
        metrics.budget_waited(priority.name, 0.0)
        return True

    def refund(self) -> None:
        """Give back a request acquired but not sent (there was nothing new to show)."""
        self._tokens = min(float(self.burst), self._tokens + 1)

    async def aclose(self) -> None:
        """Stop serving; anyone still waiting is cancelled."""
        if self._server is not None:
            self._server.cancel()
            await asyncio.gather(self._server, return_exceptions=True)
        for *_, future in self._waiters:
            future.cancel()
        self._waiters.clear()

    def _take(self, priority: Priority) -> None:
        self._tokens -= 1
        self.granted[priority] += 1

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now

    async def _serve(self) -> None:
        """Hand out requests to waiters as the bucket refills; ends when nobody waits."""
        while self._waiters:
            self._refill()
            while self._waiters and self._tokens >= 1 - _EPSILON:
                priority, _, _, future = self._next_waiter()
                if not future.done():
                    future.set_result(None)
                    self._take(Priority(priority))
            if self._waiters:
                await self._sleep(max(1 - self._tokens, _EPSILON) / self.rate_per_s)

    def _next_waiter(self) -> tuple[int, int, float, asyncio.Future[None]]:
        """Remove and return who is served next: a final waiting past `final_promote_s` (oldest first),
        else the first by priority, then arrival."""
        promote_before = self._clock() - self.final_promote_s
        overdue = [w for w in self._waiters if w[0] == Priority.FINAL and w[2] <= promote_before]
        chosen = min(overdue, key=lambda w: w[1]) if overdue else min(self._waiters, key=lambda w: w[:2])
        self._waiters.remove(chosen)
        return chosen


_BUDGETS: weakref.WeakKeyDictionary[object, DiscordBudget] = weakref.WeakKeyDictionary()


def budget_for(http: object) -> DiscordBudget:
    """The budget of the bot behind `http` (its discord.py `HTTPClient`): the global limit is per bot
    token, so every writer of one bot shares one budget, created on first use."""
    budget = _BUDGETS.get(http)
    if budget is None:
        budget = _BUDGETS[http] = DiscordBudget(DEFAULT_RATE_PER_S, DEFAULT_BURST)
    return budget
