"""One request in flight, as the user's side sees it: its events, its owner, the text shown so far."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from server_bot.relay_notices import FINAL_EVENTS, ReplyEvent
from shared import protocol


@dataclass
class PendingReply:
    """One request in flight. Iterate it to receive its events; the last one is Done, Failed or Expired."""

    request_id: str
    session_id: uuid.UUID
    prompt: protocol.Prompt
    # Clock times: the last word about this request from its host, and the last (re)send.
    last_heard: float
    last_sent: float
    owner: int | None = None  # the host answering it; only its messages count
    moved: bool = False  # changed owner after text was shown: later text restarts from offset 0
    shown: int = 0  # characters of the owner's text delivered so far
    text: str = ""
    queue_position: int | None = None
    warned_offline: bool = False
    events: asyncio.Queue[ReplyEvent] = field(default_factory=asyncio.Queue)

    async def __aiter__(self) -> AsyncIterator[ReplyEvent]:
        while True:
            event = await self.events.get()
            yield event
            if isinstance(event, FINAL_EVENTS):
                return

    def show_text(self) -> None:
        """Queue what the user has not seen of the owner's text."""
        if self.moved:
            # The user saw another host's text: replace it whole, never splice two hosts' words.
            if len(self.text) > self.shown:
                self.events.put_nowait(protocol.Delta(request_id=self.request_id, offset=0, text=self.text))
                self.shown = len(self.text)
            return
        if len(self.text) > self.shown:
            start = min(self.shown, len(self.text))
            self.events.put_nowait(
                protocol.Delta(request_id=self.request_id, offset=start, text=self.text[start:])
            )
            self.shown = len(self.text)
