"""Past Discord's 50 channels per category, sessions overflow into further categories the bot creates."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import multi_host_scenario
from server_bot import channel_room
from tests.e2e.harness import bot_reply, stack_on, start_chat

pytestmark = pytest.mark.e2e

USERS = 55


@pytest.fixture
def devcord_scenario() -> dict[str, Any]:
    return multi_host_scenario(1, users=USERS, heartbeat_interval_ms=1000)


async def test_sessions_past_fifty_open_in_a_second_category_and_are_answered(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(devcord, FakeEngine(), tmp_path) as stack:
        gate = asyncio.Semaphore(10)  # many at once: several starts find the first category full together

        async def open_one(number: int) -> int:
            async with gate:
                return await start_chat(driver, f"user-{number:03d}")

        opened = await asyncio.gather(*(open_one(n) for n in range(1, USERS + 1)))
        assert len(set(opened)) == USERS
        parents = await _parents(driver, opened)
        per_category = Counter(parents.values())
        assert len(per_category) == 2, per_category  # one new category, not one per concurrent start
        assert max(per_category.values()) <= channel_room.CATEGORY_CHANNEL_LIMIT
        remembered = await stack.server.ctx.repo.get_setting(channel_room.SESSIONS_CATEGORY_IDS)
        assert remembered is not None and {int(part) for part in remembered.split(",")} == set(per_category)

        last = opened[-1]
        prompt = await driver.post(last, f"user-{USERS:03d}", "hello there")
        reply = await bot_reply(driver, last, after=int(prompt["id"]))
        assert reply["content"] == "You said: hello there"


async def _parents(driver: Driver, opened: list[int]) -> dict[int, int]:
    """Each session channel's category, as its owner's client sees it."""
    found: dict[int, int] = {}
    for number, channel_id in enumerate(opened, start=1):
        for channel in await driver.visible_channels(f"user-{number:03d}"):
            if int(channel["id"]) == channel_id:
                found[channel_id] = int(channel["parent_id"])
    return found
