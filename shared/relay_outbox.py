"""One direction of the relay as a multiplexed outbox: every pending message leaves in one post.

Discord allows a bot about five posts per five seconds in a channel. Posting each prompt and each reply
delta on its own therefore caps the relay at a handful of conversations. Instead each sender keeps an
outbox: messages accumulate while a post is in flight or the rate-limit bucket asks us to wait, and the
next post carries all of them as one BATCH envelope. Coalescing makes the load independent of the number
of conversations: a request's deltas that were not sent yet merge into one (the newest text wins), a
final answer drops the request's unsent deltas (it carries the full text), and a heartbeat replaces an
unsent older one.

Pacing (`shared.pacing.relay_post_delay`): posts are spread evenly over what is left of the channel's
bucket, so the bucket is never spent before its window ends. A batch carrying something a user is
waiting on (URGENT: a request's first text, a final answer, a prompt, a cancel) does not wait for its
share: it leaves at once (at least `EARLY_GAP_S` after the previous post, so a burst is gathered), up to
`EARLY_POSTS_PER_WINDOW` times per window; later text of a stream,
heartbeats and queue notices keep the even spacing. An acceptance ("you are 3rd in the
queue") is held `ACCEPTANCE_HOLD_S` so that it shares a post with whatever follows, and is dropped when
its request's first text or answer is queued before it left (the text says more).

`OutboxQueue` is the pure coalescing part (tested without time); `Outbox` adds the paced sender task.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared import protocol
from shared.log import get_logger
from shared.pacing import Budget, relay_post_delay

log = get_logger(__name__)

# A batch's JSON is kept under this size; what does not fit waits for the next post. Discord accepts far
# larger attachments, but small posts keep every conversation moving.
DEFAULT_MAX_BATCH_BYTES = 256 * 1024
RETRY_AFTER_FAILURE_S = 1.0
# Urgent posts per rate-limit window that may skip the even spacing, at least EARLY_GAP_S apart. Two:
# one request's first text and its final answer both leave at once; a burst of many users' messages is
# gathered into posts EARLY_GAP_S apart (bench/relay_design.py: spending the window's early posts on one
# message each made the rest of a burst wait ~2 s); a window where everything is urgent (a busy relay)
# still spreads its other posts instead of spending the bucket at once.
EARLY_POSTS_PER_WINDOW = 2
EARLY_GAP_S = 0.2
ACCEPTANCE_HOLD_S = 0.25
# What a post in flight adds to an urgent batch's wait, for choosing among channels (a post's round trip).
POST_IN_FLIGHT_S = 0.1


@dataclass(slots=True)
class _Entry:
    session_id: uuid.UUID
    payload: protocol.Payload
    held_until: float = 0.0  # an acceptance waits for company until then

    @property
    def urgent(self) -> bool:
        return is_urgent(self.payload)


def is_urgent(payload: protocol.Payload) -> bool:
    """Whether a user is waiting on this message (see the module's pacing note)."""
    match payload:
        case protocol.Delta(offset=offset):
            return offset == 0  # the first text of a request: the user sees nothing before it
        case protocol.Done() | protocol.Failed() | protocol.Prompt() | protocol.Cancel():
            return True
        case _:
            return False


def _request_id(payload: protocol.Payload) -> str | None:
    match payload:
        case protocol.Delta() | protocol.Done() | protocol.Failed() | protocol.Accepted():
            return payload.request_id
        case protocol.Prompt() | protocol.Cancel():
            return payload.request_id
        case _:
            return None


class OutboxQueue:
    """Pending messages in sending order, coalesced as they arrive."""

    def __init__(self) -> None:
        self._entries: list[_Entry | None] = []
        self._delta_at: dict[str, int] = {}  # request id -> index of its unsent delta
        self._heartbeat_at: int | None = None
        self._accepted_at: dict[str, int] = {}  # request id -> index of its unsent acceptance
        self.superseded = 0  # messages merged away before they were sent (for the benchmark)

    def __len__(self) -> int:
        return sum(entry is not None for entry in self._entries)

    @property
    def urgent(self) -> bool:
        """Something pending that a user is waiting on (see the module's pacing note)."""
        return any(entry is not None and entry.urgent for entry in self._entries)

    def ready_at(self) -> float:
        """When the pending messages want to leave: at once (0.0), or when a held acceptance's hold ends."""
        return min((entry.held_until for entry in self._entries if entry is not None), default=0.0)

    def put(self, session_id: uuid.UUID, payload: protocol.Payload, *, now: float = 0.0) -> None:
        request_id = _request_id(payload)
        if isinstance(payload, protocol.Delta | protocol.Done | protocol.Failed) and request_id is not None:
            accepted = self._accepted_at.pop(request_id, None)
            if accepted is not None:  # the text or the answer says more than "accepted"
                self._entries[accepted] = None
                self.superseded += 1
        if isinstance(payload, protocol.Accepted):
            self._accepted_at[payload.request_id] = len(self._entries)
            self._entries.append(_Entry(session_id, payload, held_until=now + ACCEPTANCE_HOLD_S))
            return
        if isinstance(payload, protocol.Delta):
            assert request_id is not None
            index = self._delta_at.get(request_id)
            if index is not None:
                older = self._entries[index]
                assert older is not None and isinstance(older.payload, protocol.Delta)
                self._entries[index] = _Entry(session_id, _merge(older.payload, payload))
                self.superseded += 1
                return
            self._delta_at[request_id] = len(self._entries)
        elif isinstance(payload, protocol.Done | protocol.Failed) and request_id is not None:
            index = self._delta_at.pop(request_id, None)
            if index is not None:
                self._entries[index] = None
                self.superseded += 1
        elif isinstance(payload, protocol.Heartbeat):
            if self._heartbeat_at is not None:
                self._entries[self._heartbeat_at] = None
                self.superseded += 1
            self._heartbeat_at = len(self._entries)
        self._entries.append(_Entry(session_id, payload))

    def take(self, max_bytes: int = DEFAULT_MAX_BATCH_BYTES) -> list[protocol.BatchItem]:
        """Remove and return the oldest pending messages whose JSON fits in about `max_bytes`."""
        items: list[protocol.BatchItem] = []
        size = 0
        taken = 0
        for entry in self._entries:
            if entry is not None:
                item = protocol.batch_item(entry.session_id, entry.payload)
                item_size = len(item.model_dump_json())
                if items and size + item_size > max_bytes:
                    break
                items.append(item)
                size += item_size
            taken += 1
        self._entries = self._entries[taken:]
        self._reindex()
        return items

    def _reindex(self) -> None:
        self._delta_at.clear()
        self._accepted_at.clear()
        self._heartbeat_at = None
        for index, entry in enumerate(self._entries):
            if entry is None:
                continue
            if isinstance(entry.payload, protocol.Delta):
                self._delta_at[entry.payload.request_id] = index
            elif isinstance(entry.payload, protocol.Accepted):
                self._accepted_at[entry.payload.request_id] = index
            elif isinstance(entry.payload, protocol.Heartbeat):
                self._heartbeat_at = index

    def requeue(self, items: list[protocol.BatchItem]) -> None:
        """Put back a batch whose post failed, ahead of anything newer."""
        newer = self._entries
        self._entries = []
        for item in items:
            payload = protocol.PAYLOAD_TYPES[protocol.Kind(item.kind)].model_validate(item.payload)
            self._entries.append(_Entry(item.session_id, payload))
        self._reindex()
        for entry in newer:
            if entry is not None:
                self.put(entry.session_id, entry.payload)


def _merge(older: protocol.Delta, newer: protocol.Delta) -> protocol.Delta:
    """One delta covering both: the newer text wins from its offset on."""
    if newer.offset <= older.offset:
        return newer
    cut = newer.offset - older.offset
    return protocol.Delta(
        request_id=older.request_id, offset=older.offset, text=older.text[:cut] + newer.text
    )


Part = tuple[int, bytes]  # (host id, sealed envelope): one host's share of a post
PostParts = Callable[[list[Part]], Awaitable[None]]
Seal = Callable[[list[protocol.BatchItem]], Part]
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
        taken = [(outbox, outbox.queue.take(outbox.max_batch_bytes)) for outbox in outboxes]
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


class Outbox:
    """One link's pending messages; its `ChannelSender` decides when they leave.

    `seal` turns a batch into this link's sealed part. Without a sender given, the outbox gets its own
    (`post` and `budget` are then required): a client-bot has exactly one outbox in the channel.
    """

    def __init__(
        self,
        seal: Seal,
        *,
        name: str,
        sender: ChannelSender | None = None,
        post: PostParts | None = None,
        budget: Callable[[], Budget | None] | None = None,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if sender is None:
            if post is None or budget is None:
                raise ValueError("an outbox without a shared sender needs `post` and `budget`")
            sender = ChannelSender(post, budget, name=name, clock=clock, sleep=sleep)
            self._own_sender = True
        else:
            self._own_sender = False
        self.queue = OutboxQueue()
        self.seal = seal
        self.max_batch_bytes = max_batch_bytes
        self._name = name
        self._sender = sender
        self._clock = sender.clock
        self._idle = asyncio.Event()
        self._idle.set()
        self.posts = 0
        sender.register(self)

    @property
    def sender(self) -> ChannelSender:
        return self._sender

    def put(self, session_id: uuid.UUID, payload: protocol.Payload) -> None:
        self.queue.put(session_id, payload, now=self._clock())
        self._idle.clear()
        self._sender.wake(urgent=is_urgent(payload))

    def settle(self) -> None:
        if not len(self.queue):
            self._idle.set()

    async def drained(self) -> None:
        """Wait until everything put so far has been posted (or given up on at close)."""
        await self._idle.wait()

    async def aclose(self, *, flush_within_s: float = 0.0) -> None:
        """Stop, first giving pending messages up to `flush_within_s` to leave."""
        if flush_within_s > 0 and len(self.queue):
            try:
                await asyncio.wait_for(self.drained(), flush_within_s)
            except TimeoutError:
                log.warning("outbox %s closed with %d messages unsent", self._name, len(self.queue))
        self._sender.unregister(self)
        if self._own_sender:
            await self._sender.aclose()
        self._idle.set()
