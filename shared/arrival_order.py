"""Keep the order things arrived in, per key, while each is handled in its own task.

discord.py dispatches every gateway event in a task of its own, so work that awaits (downloading an
attachment, looking up a session) can finish in another order than the messages came in. `arrive(key)`
is called at once on arrival (before any await) and returns a `Turn`; `await turn.ready()` returns once
the turn that arrived before it on the same key has been released; `turn.release()` lets the next one
go, and may be called early (as soon as what must stay in order is done) and again at the end. A turn
released before its predecessor (its task was cancelled while waiting) hands over only once the
predecessor is released too, so a later arrival never overtakes an earlier one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Turn(Generic[K]):
    """One arrival's place in its key's line."""

    def __init__(self, line: ArrivalOrder[K], key: K, before: asyncio.Future[None] | None) -> None:
        self._line = line
        self._key = key
        self._before = before
        self._mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._released = False

    async def ready(self) -> None:
        """Wait until the turn before this one is released."""
        if self._before is not None:
            # Shielded: cancelling this waiter must not cancel (and so release) the turn before it.
            await asyncio.shield(self._before)

    def release(self) -> None:
        """Let the next arrival on this key go on (once the turns before are released); idempotent."""
        if self._released:
            return
        self._released = True
        if self._before is None or self._before.done():
            self._hand_over()
        else:
            self._before.add_done_callback(lambda _: self._hand_over())

    def _hand_over(self) -> None:
        self._mine.set_result(None)
        self._line._forget(self._key, self._mine)


class ArrivalOrder(Generic[K]):
    """Per key, the last arrival's turn (nothing is kept for a key whose line is empty)."""

    def __init__(self) -> None:
        self._last: dict[K, asyncio.Future[None]] = {}

    def arrive(self, key: K) -> Turn[K]:
        turn = Turn(self, key, self._last.get(key))
        self._last[key] = turn._mine
        return turn

    def _forget(self, key: K, released: asyncio.Future[None]) -> None:
        if self._last.get(key) is released:
            del self._last[key]
