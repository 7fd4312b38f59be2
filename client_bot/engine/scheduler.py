"""A fair queue of pending requests across chat sessions.

Start-time fair queuing with a unit cost per request: every request gets a start tag, the smallest tag
runs next (ties in submission order). A session's first request is tagged with the current virtual time;
each further one is tagged one after its predecessor. So sessions take turns request by request, and a
chatty session with twenty queued requests delays a newcomer by at most one of them.

The queue is a plain data structure: no locks, no blocking. The engine wraps it in whatever
synchronisation its worker needs. A batching worker takes several requests at once with `pop_many`,
which keeps the same order; that is the only change it needs.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Entry(Generic[T]):
    tag: int
    seq: int
    request_id: str
    item: T


class FairScheduler(Generic[T]):
    """Per-session FIFO queues served in fair turns."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Entry[T]]] = {}
        # One past the tag of each session's newest request; where its next request would start.
        self._next_tag: dict[str, int] = {}
        self._virtual_time = 0
        self._seq = 0

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def pending(self, session_id: str) -> int:
        """How many requests of `session_id` are waiting."""
        return len(self._queues.get(session_id, ()))

    def push(self, session_id: str, request_id: str, item: T) -> None:
        tag = max(self._virtual_time, self._next_tag.get(session_id, 0))
        self._next_tag[session_id] = tag + 1
        self._seq += 1
        self._queues.setdefault(session_id, deque()).append(_Entry(tag, self._seq, request_id, item))

    def pop(self) -> T | None:
        """Remove and return the request that should run next, or None when nothing waits."""
        if not self._queues:
            return None
        session_id = min(self._queues, key=lambda s: (self._queues[s][0].tag, self._queues[s][0].seq))
        queue = self._queues[session_id]
        entry = queue.popleft()
        if not queue:
            del self._queues[session_id]
        self._virtual_time = entry.tag
        self._forget_idle_sessions()
        return entry.item

    def pop_many(self, limit: int) -> list[T]:
        """Up to `limit` requests in the order `pop` would return them (for a batching worker)."""
        taken: list[T] = []
        while len(taken) < limit:
            item = self.pop()
            if item is None:
                break
            taken.append(item)
        return taken

    def remove(self, request_id: str) -> T | None:
        """Take a still-queued request out (it was cancelled); None if it is not queued."""
        for session_id, queue in self._queues.items():
            for entry in queue:
                if entry.request_id == request_id:
                    queue.remove(entry)
                    if not queue:
                        del self._queues[session_id]
                    return entry.item
        return None

    def drain(self) -> list[T]:
        """Remove and return everything still queued (the engine is closing)."""
        items = [entry.item for queue in self._queues.values() for entry in queue]
        self._queues.clear()
        return items

    def _forget_idle_sessions(self) -> None:
        # An idle session whose next tag is already behind the virtual time would be tagged with the
        # virtual time anyway, so remembering it is pointless; this keeps the map bounded by live sessions.
        stale = [
            s for s, tag in self._next_tag.items() if tag <= self._virtual_time and s not in self._queues
        ]
        for session_id in stale:
            del self._next_tag[session_id]
