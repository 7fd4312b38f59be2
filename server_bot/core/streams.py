"""The plumbing of one reply stream: the stream object fronts hold, the request in flight, and the
sentinels that end a reply from outside (a close, a stop the host cannot hear, a shutdown)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from server_bot.core.events import FailureCode, ReplyEvent
from server_bot.core.ports import RelayPending
from server_bot.db.records import SessionInfo


@dataclass(frozen=True, slots=True)
class Closed:
    """Queue sentinel: the reply ends now (its session was closed, or the server is shutting down)."""

    code: FailureCode = "session_closed"


class Stopped:
    """Queue sentinel: the user stopped a reply the AI host cannot hear about (it is offline)."""


@dataclass
class InFlight:
    request_id: str
    session: SessionInfo
    queue: asyncio.Queue[object] = field(default_factory=asyncio.Queue)


class ReplyStreamImpl:
    """A `ReplyStream`: an async generator with the session it belongs to."""

    def __init__(self, session_id: uuid.UUID, events: AsyncIterator[ReplyEvent]) -> None:
        self._session_id = session_id
        self._events = events

    @property
    def session_id(self) -> uuid.UUID:
        return self._session_id

    def __aiter__(self) -> AsyncIterator[ReplyEvent]:
        return self._events

    async def aclose(self) -> None:
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()


async def pump_events(pending: RelayPending, queue: asyncio.Queue[object]) -> None:
    async for event in pending:
        queue.put_nowait(event)
