"""People in devcord: open a chat, post tagged prompts, watch their own event feed for the answer.

Each person long-polls devcord's event feed for what they can see (cheap even for 100 people), so the
times measured are when the text reached the person: first visible text and the final reply.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from devcord.testing import Driver, DriverError
from meatlizard.scripted_user import start_chat
from tests.reliability.history import QUEUE_PLACEHOLDER, classify, marker

Json = dict[str, Any]
_FILLER = [
    "please",
    "echo",
    "these",
    "words",
    "back",
    "to",
    "me",
    "slowly",
    "one",
    "by",
    "one",
    "so",
    "the",
    "reply",
    "takes",
    "a",
    "while",
]


@dataclass
class Turn:
    marker: str
    prompt_id: int
    posted_at: float
    first_feedback_s: float | None = None  # the first thing shown where the reply goes: text or queue place
    first_text_s: float | None = None  # the first text of the reply itself
    final_s: float | None = None
    notice_s: float | None = None
    interim_s: float | None = None

    @property
    def done(self) -> bool:
        return self.final_s is not None or self.notice_s is not None


@dataclass
class Person:
    driver: Driver
    name: str
    tagged: bool = True  # False for the real model, which does not echo the tag back
    channel_id: int = 0
    turns: list[Turn] = field(default_factory=list)
    _seq: int = 0

    async def join(self) -> None:
        try:
            await self.driver.user_id(self.name)  # the demo's alice and bob are already there
        except DriverError:
            await self.driver.create_user(self.name)
        self.channel_id = await start_chat(self.driver, self.name)
        feed = await self.driver.events(self.name, after=0)
        self._seq = int(feed["last_seq"])

    async def say(self, n: int, words: int = 12) -> Turn:
        """Post prompt number `n` (tagged `[[name#n]]` for echoing engines); returns at once, see `wait`."""
        tag = marker(self.name, n)
        # A real model may repeat any earlier tag from the history, which would misattribute its reply:
        # untagged people say who they are in words instead and are matched first in, first out.
        label = tag if self.tagged else f"({self.name}, turn {n})"
        text = f"{label} " + " ".join(_FILLER[i % len(_FILLER)] for i in range(words))
        posted = await self.driver.post(self.channel_id, self.name, text)
        turn = Turn(tag, int(posted["id"]), time.monotonic())
        self.turns.append(turn)
        return turn

    async def wait(self, within_s: float) -> None:
        """Follow the feed until every turn posted so far has its final reply or a notice (or time is up)."""
        deadline = time.monotonic() + within_s
        while not all(t.done for t in self.turns):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            feed = await self.driver.events(self.name, after=self._seq, wait_s=min(left, 5.0))
            self._seq = int(feed["last_seq"])
            now = time.monotonic()
            for event in feed["events"]:
                if event["t"] in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
                    self._see(event["d"], now)

    async def converse(
        self,
        turns: int,
        *,
        first: int = 1,
        within_s: float = 60,
        words: int = 12,
        stop_at: float | None = None,
        think_s: float = 0.0,
    ) -> None:
        """Turns one after another, each waiting for its answer (as a person does), then `think_s` on
        average (0.5x to 1.5x, as people read and type) before the next; no new turn is started after
        the monotonic time `stop_at`."""
        pause = random.Random(self.name)
        for n in range(first, first + turns):
            if stop_at is not None and time.monotonic() > stop_at:
                return
            await self.say(n, words)
            await self.wait(within_s)
            if think_s > 0 and n < first + turns - 1:
                await asyncio.sleep(think_s * pause.uniform(0.5, 1.5))

    def _see(self, message: Json, now: float) -> None:
        if int(message.get("channel_id", 0)) != self.channel_id:
            return
        author = message.get("author") or {}
        if not author.get("bot"):
            return
        mid = int(message["id"])
        content = str(message.get("content") or "")
        kind = classify(message)
        reference = (message.get("message_reference") or {}).get("message_id")
        waiting = [t for t in self.turns if not t.done and t.prompt_id < mid]
        if reference is not None:
            waiting = [t for t in waiting if t.prompt_id == int(reference)]
        elif self.tagged and kind == "final":
            waiting = [t for t in waiting if t.marker in content]
        if not waiting:
            return
        turn = waiting[0]
        elapsed = now - turn.posted_at
        if kind in ("partial", "final", "page") and content.strip():
            if turn.first_feedback_s is None:
                turn.first_feedback_s = elapsed
            if turn.first_text_s is None and not QUEUE_PLACEHOLDER.match(content):
                turn.first_text_s = elapsed
        if kind == "final":
            turn.final_s = elapsed
        elif kind == "terminal":
            turn.notice_s = elapsed
        elif kind == "interim" and turn.interim_s is None:
            turn.interim_s = elapsed
