"""A fake relay at the relay boundary: it answers like a client-bot would, without Discord."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from server_bot.relay_notices import Expired
from shared import protocol

_FINAL = (protocol.Done, protocol.Failed, Expired)


@dataclass
class FakePending:
    request_id: str
    session_id: uuid.UUID
    messages: list[protocol.ChatTurn]
    params: protocol.GenerationParams
    events: asyncio.Queue[object] = field(default_factory=asyncio.Queue)

    def push(self, *events: object) -> None:
        for event in events:
            self.events.put_nowait(event)

    async def __aiter__(self) -> AsyncIterator[object]:
        while True:
            event = await self.events.get()
            yield event
            if isinstance(event, _FINAL):
                return


Responder = Callable[[FakePending], list[object]]


def echo(pending: FakePending) -> list[object]:
    """Answers "echo: <last user text>" in two deltas."""
    last = pending.messages[-1].content
    text = f"echo: {last}"
    half = len(text) // 2
    rid = pending.request_id
    return [
        protocol.Accepted(request_id=rid, queue_position=1),
        protocol.Delta(request_id=rid, offset=0, text=text[:half]),
        protocol.Delta(request_id=rid, offset=half, text=text[half:]),
        protocol.Done(request_id=rid, text=text, finish_reason="stop", completion_tokens=3, total_ms=10),
    ]


class FakeRelay:
    """Satisfies `server_bot.core.ports.Relay`. With a responder it answers at once; else tests push."""

    def __init__(self, responder: Responder | None = echo, *, online: bool = True) -> None:
        self.responder = responder
        self.online = online
        self.submitted: list[FakePending] = []
        self.cancelled: list[str] = []
        self._ids = itertools.count(1)

    async def submit(
        self, session_id: uuid.UUID, messages: list[protocol.ChatTurn], params: protocol.GenerationParams
    ) -> FakePending:
        pending = FakePending(f"{next(self._ids):016x}", session_id, messages, params)
        self.submitted.append(pending)
        if self.responder is not None:
            pending.push(*self.responder(pending))
        return pending

    async def cancel(self, request_id: str) -> bool:
        self.cancelled.append(request_id)
        for pending in self.submitted:
            if pending.request_id == request_id:
                pending.push(protocol.Done(request_id=request_id, text="partial", finish_reason="cancelled"))
                return True
        return False

    def client_online(self) -> bool:
        return self.online

    @property
    def last(self) -> FakePending:
        return self.submitted[-1]
