"""A whole conversation through devcord with the real discord.py bots and a fast fake engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack
from tests.e2e.harness import bot_reply, command_reply, stack_on, start_chat

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def test_chat_start_prompt_reply_end(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")

    prompt = await driver.post(channel, "alice", "hello there")
    reply = await bot_reply(driver, channel, after=int(prompt["id"]))
    assert reply["content"] == "You said: hello there"

    text = await command_reply(driver, "alice", channel, "chat end")
    assert "transcript saved" in text
    assert not [c for c in await driver.visible_channels("alice") if int(c["id"]) == channel]
