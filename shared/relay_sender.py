"""When the relay's outboxes post: one paced sender per bot and channel, every outbox's batch in one post.

Pacing (`shared.pacing.relay_post_delay`): posts are spread evenly over what is left of the channel's
bucket, so the bucket is never spent before its window ends. A batch carrying something a user is
waiting on (URGENT, `shared.relay_outbox.is_urgent`: a request's first text, a final answer, a prompt, a
cancel) does not wait for its share: it leaves at once (at least `EARLY_GAP_S` after the previous post,
so a burst is gathered), up to `EARLY_POSTS_PER_WINDOW` times per window; later text of a stream,
heartbeats and queue notices keep the even spacing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shared.log import get_logger
from shared.pacing import Budget, relay_post_delay

if TYPE_CHECKING:
    from shared.relay_outbox import Outbox

log = get_logger(__name__)

RETRY_AFTER_FAILURE_S = 1.0
# Urgent posts per rate-limit window that may skip the even spacing, at least EARLY_GAP_S apart. Two:
# one request's first text and its final answer both leave at once; a burst of many users' messages is
# gathered into posts EARLY_GAP_S apart (bench/relay_design.py: spending the window's early posts on one
# message each made the rest of a burst wait ~2 s); a window where everything is urgent (a busy relay)
# still spreads its other posts instead of spending the bucket at once.
EARLY_POSTS_PER_WINDOW = 2
EARLY_GAP_S = 0.2
# What a post in flight adds to an urgent batch's wait, for choosing among channels (a post's round trip).
POST_IN_FLIGHT_S = 0.1

Part = tuple[int, bytes]  # (host id, sealed envelope): one host's share of a post
PostParts = Callable[[list[Part]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
MAX_PARTS_PER_POST = 10  # Discord's attachments per message


class ChannelSender:
    """One bot's posts in one channel: every outbox's pending batch leaves in the same post.

    The server-bot has one outbox per host (each sealed under that host's key) but one rate-limit
    bucket per channel. Rather than splitting the bucket between hosts, each post carries one sealed
    part per host with something pending (attachments `envelope-<host id>.bin`), so every host's
    prompts leave at the full rate. A failed post puts every part's messages back and retries.

    Early posts are counted per rate-limit window: an urgent post that leaves before the even spacing
    would have let it is one of the window's `early_posts`; the count restarts when the bucket Discord
    reported after the previous post has refilled.
    """

    def __init__(
        self,
        post: PostParts,
        budget: Callable[[], Budget | None],
        *,
        name: str,
        early_posts: int = EARLY_POSTS_PER_WINDOW,
        early_gap_s: float = EARLY_GAP_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._post = post
        self.clock = clock
        self._early_posts = early_posts
        self._early_gap_s = early_gap_s
        self._early_used = 0
        self._window_ends = 0.0
        self._budget = budget
        self._name = name
        self._clock = clock
        self._sleep = sleep
        self._outboxes: list[Outbox] = []
        self._next = 0  # round-robin start, when more than MAX_PARTS_PER_POST outboxes wait
        self._wakeup = asyncio.Event()
        self._urgent = asyncio.Event()  # cuts a pacing wait short
        self._task: asyncio.Task[None] | None = None
        self._last_post: float | None = None
        self._posting = False
        self.posts = 0
        self.early_posts = 0  # urgent posts that skipped the spacing (for the benchmark)
        self.failures = 0

    def register(self, outbox: Outbox) -> None:
        self._outboxes.append(outbox)

    def unregister(self, outbox: Outbox) -> None:
        if outbox in self._outboxes:
            self._outboxes.remove(outbox)

    def wake(self, *, urgent: bool = False) -> None:
        self._wakeup.set()
        if urgent:
            self._urgent.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"relay-sender:{self._name}")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _waiting(self) -> list[Outbox]:
        waiting = [outbox for outbox in self._outboxes if len(outbox.queue)]
        if len(waiting) <= MAX_PARTS_PER_POST:
            return waiting
        start = self._next % len(waiting)
        self._next += MAX_PARTS_PER_POST
        return (waiting[start:] + waiting[:start])[:MAX_PARTS_PER_POST]

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while waiting := self._waiting():
                self._urgent.clear()
                urgent = any(outbox.queue.urgent for outbox in waiting)
                delay, early = self._delay(urgent, min(outbox.queue.ready_at() for outbox in waiting))
                if delay > 0:
                    await self._pause(delay)  # messages keep accumulating meanwhile
                    continue
                if early:
                    self._early_used += 1
                    self.early_posts += 1
                await self._send(waiting)
                budget = self._budget()
                if budget is not None and budget.reset_in_s > 0:
                    self._window_ends = self._clock() + budget.reset_in_s
            for outbox in self._outboxes:
                outbox.settle()

    def gathering(self) -> bool:
        """This channel has just posted and its next urgent post may leave within the early gap: a new
        message rides in that post rather than spend an idle channel's early posts
        (`shared/relay_lanes.py`)."""
        if self._last_post is None or self._clock() - self._last_post > 2 * self._early_gap_s:
            return False
        return self.urgent_wait_s() <= self._early_gap_s

    def urgent_wait_s(self) -> float:
        """How long an urgent batch queued now would wait (a post in flight counts as a short wait)."""
        return max(self._delay(True, 0.0)[0], POST_IN_FLIGHT_S if self._posting else 0.0)

    def _delay(self, urgent: bool, ready_at: float) -> tuple[float, bool]:
        """(seconds to wait, whether posting now is one of the window's early posts)."""
        now = self._clock()
        if now >= self._window_ends:
            self._early_used = 0
        budget = self._budget()
        early_left = max(0, self._early_posts - self._early_used)
        delay = relay_post_delay(
            budget, self._last_post, now, urgent=urgent, early_left=early_left, early_gap_s=self._early_gap_s
        )
        delay = max(delay, ready_at - now)
        if delay > 0 or not urgent:
            return delay, False
        paced = relay_post_delay(budget, self._last_post, now, urgent=False, early_left=early_left)
        return 0.0, paced > 0

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless something urgent arrives first."""
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        interrupted = asyncio.ensure_future(self._urgent.wait())
        try:
            await asyncio.wait({sleeping, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            interrupted.cancel()
            await asyncio.gather(sleeping, interrupted, return_exceptions=True)

    async def _send(self, outboxes: list[Outbox]) -> None:
        now = self._clock()
        taken = [(outbox, outbox.queue.take(outbox.max_batch_bytes, now=now)) for outbox in outboxes]
        taken = [(outbox, items) for outbox, items in taken if items]
        if not taken:
            return
        self._last_post = self._clock()
        self._posting = True
        try:
            # Sealed here, at posting time: a receiver refuses a seq older than one it already accepted.
            await self._post([outbox.seal(items) for outbox, items in taken])
        except asyncio.CancelledError:
            raise
        except Exception:
            # Nothing is lost: each batch goes back to the front of its queue and is tried again.
            self.failures += 1
            log.warning("relay post from %s failed; retrying", self._name, exc_info=True)
            for outbox, items in taken:
                outbox.queue.requeue(items)
            await self._sleep(RETRY_AFTER_FAILURE_S)
            return
        finally:
            self._posting = False
        self.posts += 1
        for outbox, _ in taken:
            outbox.posts += 1
            outbox.settle()
