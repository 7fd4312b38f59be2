"""Many users, many channels, within Discord's limits on devcord (50 per category, 500 per guild):
sessions overflow into a further category the bot owns, a nearly full guild refuses `/chat start`
clearly instead of failing, and idle sessions are closed (their users told)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver, demo_scenario
from meatlizard.stack import Stack
from server_bot.channel_room import GUILD_FULL, SESSIONS_CATEGORY_IDS
from server_bot.core.idle import IdleSessionCloser
from tests.e2e.harness import bot_reply, command_reply, eventually, stack_on, start_chat

pytestmark = pytest.mark.e2e

SESSIONS = "AI Chat Sessions"


def with_channels(count: int, parent: str | None = None) -> dict[str, Any]:
    """The demo scenario with `count` filler text channels (under category `parent`, made if named)."""
    data = demo_scenario()
    guild = data["guilds"][0]
    if parent is not None:
        guild["channels"].append({"name": parent, "type": "category"})
    guild["channels"].extend(
        {"name": f"filler-{number:03d}", **({"parent": parent} if parent else {})} for number in range(count)
    )
    return data


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


def guild_of(stack: Stack) -> discord.Guild:
    guild = stack.server.get_guild(stack.settings.discord.guild_id)
    assert guild is not None
    return guild


class TestAFullSessionsCategory:
    @pytest.fixture
    def devcord_scenario(self) -> dict[str, Any]:
        # The sessions category (adopted by its name at first start, then known by id) already holds 50.
        return with_channels(50, parent=SESSIONS)

    async def test_new_sessions_overflow_into_a_further_category_the_bot_remembers_by_id(
        self, stack: Stack, driver: Driver
    ) -> None:
        alice = await start_chat(driver, "alice")
        bob = await start_chat(driver, "bob")
        guild = guild_of(stack)
        first = next(c for c in guild.categories if c.name == SESSIONS)
        parents = {guild.get_channel(alice).category, guild.get_channel(bob).category}  # type: ignore[union-attr]
        (overflow,) = parents
        assert overflow is not None and overflow.id != first.id
        assert overflow.name == f"{SESSIONS} 2"
        assert len(first.channels) == 50
        remembered = await stack.server.ctx.repo.get_setting(SESSIONS_CATEGORY_IDS)
        assert remembered == f"{first.id},{overflow.id}"
        prompt = await driver.post(alice, "alice", "still works?")
        assert (await bot_reply(driver, alice, after=int(prompt["id"])))[
            "content"
        ] == "You said: still works?"


class TestTheLastPlaceInACategory:
    @pytest.fixture
    def devcord_scenario(self) -> dict[str, Any]:
        return with_channels(49, parent=SESSIONS)

    async def test_two_starts_at_once_take_the_last_place_and_a_new_category_without_an_error(
        self, stack: Stack, driver: Driver
    ) -> None:
        opened = await asyncio.gather(start_chat(driver, "alice"), start_chat(driver, "bob"))
        guild = guild_of(stack)
        parents = sorted(
            (guild.get_channel(channel).category.name for channel in opened),  # type: ignore[union-attr]
        )
        assert parents == [SESSIONS, f"{SESSIONS} 2"]


class TestANearlyFullGuild:
    @pytest.fixture
    def devcord_scenario(self) -> dict[str, Any]:
        # 3 demo channels + 494 = 497: the bot still makes its (first) relay channel; a session would
        # leave too little room for what it may have to make again.
        return with_channels(494)

    async def test_chat_start_says_the_server_is_near_its_channel_limit(
        self, stack: Stack, driver: Driver
    ) -> None:
        text = await command_reply(driver, "alice", "general", "chat start")
        assert text == GUILD_FULL
        assert await stack.server.ctx.repo.count_open_sessions() == 0
        assert len(guild_of(stack).channels) < 500

    async def test_the_relay_runs_over_fewer_channels_rather_than_fill_the_guild(self, stack: Stack) -> None:
        assert stack.settings.relay.relay_channels > 1
        relays = [c for c in guild_of(stack).channels if c.name.startswith("ai-relay")]
        assert [c.name for c in relays] == ["ai-relay"]
        assert stack.server.ctx.hub.channel_ids() == {relays[0].id}


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def test_an_idle_session_is_closed_its_channel_removed_and_its_user_told_by_dm(
    stack: Stack, driver: Driver, devcord: Devcord
) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "hello")
    await bot_reply(driver, channel, after=int(prompt["id"]))
    core = stack.server.ctx.core
    session = await core.sessions.by_channel(channel)
    assert session is not None
    # The core's closer, on a clock a day ahead (the stack's own runs on the wall clock).
    later = FakeClock(datetime.now(UTC) + timedelta(days=2))
    idle = IdleSessionCloser(
        stack.server.ctx.repo,
        core.sessions,
        later,
        idle_after_s=stack.settings.chat.idle_close_after_s,
    )
    (closed,) = await idle.close_idle()

    assert closed.id == session.id
    assert await stack.server.ctx.repo.get_transcript(session.id) is not None
    alice = await driver.user_id("alice")
    dm = devcord.world.dm_channel(stack.settings.discord.server_bot_user_id, alice)
    told = await driver.wait_for_message(dm.id, lambda m: "closed after 1 day" in m["content"])
    assert "transcript is saved" in told["content"]
    assert "`/chat start` opens a new one" in told["content"]

    async def channel_gone() -> bool:
        return channel not in {int(c["id"]) for c in await driver.visible_channels("alice")}

    await eventually(channel_gone)
