"""One direction of the relay as a multiplexed outbox: every pending message leaves in one post.

Discord allows a bot about five posts per five seconds in a channel. Posting each prompt and each reply
delta on its own therefore caps the relay at a handful of conversations. Instead each sender keeps an
outbox: messages accumulate while a post is in flight or the rate-limit bucket asks us to wait, and the
next post carries all of them as one BATCH envelope. Coalescing makes the load independent of the number
of conversations: a request's deltas that were not sent yet merge into one (the newest text wins), a
final answer drops the request's unsent deltas (it carries the full text), and a heartbeat replaces an
unsent older one.

A message a user is waiting on is URGENT (`is_urgent`: its batch may skip the sender's even spacing, see
`shared.relay_sender`). An acceptance ("you are 3rd in the queue") is held `ACCEPTANCE_HOLD_S`: a post
that leaves meanwhile leaves it behind, and it is dropped when its request's first text or answer is
queued before it left (the text says more).

`OutboxQueue` is the pure coalescing part (tested without time); `Outbox` is one link's queue, posted by
its `ChannelSender` (`shared.relay_sender`: the pacing).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from shared import protocol
from shared.log import get_logger
from shared.pacing import Budget
from shared.relay_sender import ChannelSender, Part, PostParts, Sleep

log = get_logger(__name__)

# A batch's JSON is kept under this size; what does not fit waits for the next post. Discord accepts far
# larger attachments, but small posts keep every conversation moving.
DEFAULT_MAX_BATCH_BYTES = 256 * 1024
ACCEPTANCE_HOLD_S = 0.25


@dataclass(slots=True)
class _Entry:
    session_id: uuid.UUID
    payload: protocol.Payload
    held_until: float = 0.0  # an acceptance waits for company until then

    @property
    def urgent(self) -> bool:
        return is_urgent(self.payload)


def is_urgent(payload: protocol.Payload) -> bool:
    """Whether a user is waiting on this message (its batch may skip the pacing: `shared.relay_sender`)."""
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
        """Something pending that a user is waiting on (see `is_urgent`)."""
        return any(entry is not None and entry.urgent for entry in self._entries)

    def ready_at(self) -> float:
        """When the pending messages want to leave: at once (0.0), or when a held acceptance's hold ends."""
        return min((entry.held_until for entry in self._entries if entry is not None), default=0.0)

    def put(self, session_id: uuid.UUID, payload: protocol.Payload, *, now: float = 0.0) -> None:
        request_id = _request_id(payload)
        if isinstance(payload, protocol.Delta | protocol.Done | protocol.Failed | protocol.Accepted):
            assert request_id is not None
            # The text, the answer or a newer place in the queue says more than an unsent acceptance.
            self.withdraw_acceptance(request_id)
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

    def withdraw_acceptance(self, request_id: str) -> bool:
        """Drop the unsent acceptance of `request_id` (there is at most one: a newer one replaces it);
        whether there was one."""
        index = self._accepted_at.pop(request_id, None)
        if index is None:
            return False
        self._entries[index] = None
        self.superseded += 1
        return True

    def take(
        self, max_bytes: int = DEFAULT_MAX_BATCH_BYTES, *, now: float | None = None
    ) -> list[protocol.BatchItem]:
        """Remove and return the oldest pending messages whose JSON fits in about `max_bytes`.

        At `now`, an acceptance still in its hold stays behind: it is waiting for its own request's text,
        which replaces it, and sent early it would tie the request to this channel (`RelayLink.send`).
        Nothing else about that request can be queued behind it, so the order of a request's messages
        holds."""
        items: list[protocol.BatchItem] = []
        kept: list[_Entry | None] = []
        size = 0
        full = False
        for entry in self._entries:
            if entry is None:
                continue
            if full or (now is not None and entry.held_until > now):
                kept.append(entry)
                continue
            item = protocol.batch_item(entry.session_id, entry.payload)
            item_size = len(item.model_dump_json())
            if items and size + item_size > max_bytes:
                full = True  # this and everything after it waits for the next post
                kept.append(entry)
                continue
            items.append(item)
            size += item_size
        self._entries = kept
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


Seal = Callable[[list[protocol.BatchItem]], Part]


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
