"""Prompts posted close together in one chat are answered in the order they were posted, even when the
first one's lookups take longer (discord.py handles each message in its own task)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack
from tests.e2e.harness import eventually, stack_on, start_chat

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def test_two_prompts_posted_together_are_answered_in_the_order_they_were_posted(
    stack: Stack, driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = await start_chat(driver, "alice")
    sessions = stack.server.ctx.core.sessions
    lookup = sessions.by_channel
    slow_first = [True]

    async def slow_first_lookup(channel_id: int) -> Any:
        if slow_first[0]:  # the first prompt's session lookup is slow (a busy database, say)
            slow_first[0] = False
            await asyncio.sleep(0.5)
        return await lookup(channel_id)

    monkeypatch.setattr(sessions, "by_channel", slow_first_lookup)
    first = await driver.post(channel, "alice", "one")
    await driver.post(channel, "alice", "two")

    async def both_answered() -> bool:
        return len(await _finals(driver, channel, int(first["id"]))) == 2

    await eventually(both_answered, timeout=20)
    assert [m["content"] for m in await _finals(driver, channel, int(first["id"]))] == [
        "You said: one",
        "You said: two",
    ]


async def _finals(driver: Driver, channel: int, after: int) -> list[dict[str, Any]]:
    """The bot's replies after `after`, in the order they were posted."""
    return [
        m
        for m in await driver.messages(channel)
        if int(m["id"]) > after and m["author"].get("bot") and m["content"].startswith("You said")
    ]
