"""Running real discord.py clients against the devcord fixture."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

ClientT = TypeVar("ClientT", bound=discord.Client)

TOKENS = {
    "server-bot": "MTMwMDAwMDAwMDAwMDAwMDEwMQ.HDdKgA.rzNFxkTJimd8MDFemvTol8tM0TsfvmddfE2fZQ",
    "client-bot": "MTMwMDAwMDAwMDAwMDAwMDEwMg.HDdKgA.7uogJcnL0gX5W4LoFfN7MNf-fc21Qd26Zkyj6A",
    "rogue-bot": "MTMwMDAwMDAwMDAwMDAwMDEwMw.HDdKgA.BtDOTBGtxpmMgcKndKqLMfUUjxgF7UnkBxnf3A",
}


def intents(*, members: bool = False, message_content: bool = True) -> discord.Intents:
    value = discord.Intents.default()
    value.members = members
    value.message_content = message_content
    return value


@contextlib.asynccontextmanager
async def running(client: ClientT, name: str, *, within: float = 5.0) -> AsyncIterator[ClientT]:
    """Start `client` with the bot's token and yield once READY has been dispatched."""
    task = asyncio.create_task(client.start(TOKENS[name]))
    try:
        async with asyncio.timeout(within):
            while not client.is_ready():
                if task.done():
                    task.result()
                    raise AssertionError("client stopped before READY")
                await asyncio.sleep(0.01)
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


class Recorder(discord.Client):
    """A client that keeps every message event it sees, for asserting what reached the bot."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("intents", intents())
        kwargs.setdefault("guild_ready_timeout", 0.05)
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.seen: list[discord.Message] = []
        self.edits: list[tuple[discord.Message, discord.Message]] = []
        self.raw_edits: list[discord.RawMessageUpdateEvent] = []
        self.arrived = asyncio.Event()
        self.resumed = 0
        self.readies = 0

    async def on_ready(self) -> None:
        self.readies += 1

    async def on_resumed(self) -> None:
        self.resumed += 1

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)
        self.arrived.set()

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        self.raw_edits.append(payload)
        self.arrived.set()

    async def wait_for_content(self, text: str, within: float = 5.0) -> discord.Message:
        async with asyncio.timeout(within):
            while True:
                for message in self.seen:
                    if message.content == text:
                        return message
                self.arrived.clear()
                await self.arrived.wait()
