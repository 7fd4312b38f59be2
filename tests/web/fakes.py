"""A fake relay for web tests: it streams "echo: <prompt>" a word at a time, slowly enough that the
page shows it growing and that Stop can land mid-reply. The real relay is used in the e2e/llm test."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from shared import protocol

_FINAL = (protocol.Done, protocol.Failed)


@dataclass
class SlowPending:
    request_id: str
    events: asyncio.Queue[object] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    async def __aiter__(self) -> AsyncIterator[object]:
        while True:
            event = await self.events.get()
            yield event
            if isinstance(event, _FINAL):
                return


@dataclass
class HostStatus:
    model: str = "fake-echo"
    queue_depth: int = 0
    tokens_per_s: float = 20.0


class SlowEchoRelay:
    """Satisfies `server_bot.core.ports.Relay` (and the dashboard's `RelayStatus`)."""

    client: HostStatus | None = HostStatus()
    in_flight = 0

    def __init__(self, word_delay_s: float = 0.05, words: int = 0) -> None:
        self.word_delay_s = word_delay_s
        self.padding = words  # extra words after the echo, to make a reply long enough to stop
        self._ids = itertools.count(1)
        self._pending: dict[str, SlowPending] = {}
        self._texts: dict[str, str] = {}
        self.submitted = 0  # prompts the AI host was asked to answer

    async def submit(
        self, session_id: uuid.UUID, messages: list[protocol.ChatTurn], params: protocol.GenerationParams
    ) -> SlowPending:
        self.submitted += 1
        pending = SlowPending(f"{next(self._ids):016x}")
        self._pending[pending.request_id] = pending
        reply = f"echo: {messages[-1].content}" + "".join(f" word{i}" for i in range(self.padding))
        pending.task = asyncio.create_task(self._stream(pending, reply))
        return pending

    async def _stream(self, pending: SlowPending, reply: str) -> None:
        rid = pending.request_id
        pending.events.put_nowait(protocol.Accepted(request_id=rid, queue_position=0))
        text = ""
        for word in reply.split(" "):
            piece = word if not text else " " + word
            pending.events.put_nowait(protocol.Delta(request_id=rid, offset=len(text), text=piece))
            text += piece
            self._texts[rid] = text
            await asyncio.sleep(self.word_delay_s)
        pending.events.put_nowait(
            protocol.Done(
                request_id=rid, text=text, finish_reason="stop", completion_tokens=len(text.split())
            )
        )

    async def cancel(self, request_id: str) -> bool:
        pending = self._pending.get(request_id)
        if pending is None or pending.task is None or pending.task.done():
            return False
        pending.task.cancel()
        text = self._texts.get(request_id, "")
        pending.events.put_nowait(protocol.Done(request_id=request_id, text=text, finish_reason="cancelled"))
        return True

    def client_online(self) -> bool:
        return True

    async def aclose(self) -> None:
        for pending in self._pending.values():
            if pending.task is not None:
                pending.task.cancel()
