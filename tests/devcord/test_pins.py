"""Pins ("Message > Pin Message"): discord.py's pin/unpin/pins against devcord, the system message, the
permission and the 50-pin maximum."""

from __future__ import annotations

import asyncio

import discord
import pytest

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import Recorder, running

pytestmark = pytest.mark.e2e


async def _general(bot: discord.Client) -> discord.TextChannel:
    channel = discord.utils.get(bot.get_all_channels(), name="general")
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_pinning_lists_the_message_and_posts_the_system_message(
    devcord: Devcord, driver: Driver
) -> None:
    async with running(Recorder(), "server-bot") as bot:
        general = await _general(bot)
        message = await general.send("remember this")
        await message.pin()
        pinned = [m async for m in general.pins()]
        assert [m.id for m in pinned] == [message.id] and pinned[0].pinned
        stored = await driver.messages("general")
        assert stored[-1]["type"] == 6 and stored[-1]["message_reference"]["message_id"] == str(message.id)
        await message.unpin()
        assert [m async for m in general.pins()] == []


async def test_pinning_needs_pin_or_manage_messages(devcord: Devcord) -> None:
    async with running(Recorder(), "server-bot") as owner, running(Recorder(), "rogue-bot") as rogue:
        message = await (await _general(owner)).send("not yours to pin")
        target = (await _general(rogue)).get_partial_message(message.id)
        with pytest.raises(discord.Forbidden) as refused:
            await target.pin()
        assert refused.value.code == 50013


async def test_the_fifty_first_pin_is_refused_with_30003(devcord: Devcord, driver: Driver) -> None:
    await driver.set_ratelimits(global_per_second=10_000, routes={"default": {"limit": 1000, "per": 1}})
    async with running(Recorder(), "server-bot") as bot:
        general = await _general(bot)
        channel = devcord.world.channels[general.id]
        sent = [
            devcord.world.create_message(channel, bot.user.id, {"content": f"{n}"}, []) for n in range(51)
        ]  # type: ignore[union-attr]
        await asyncio.gather(*(general.get_partial_message(m.id).pin() for m in sent[:50]))
        with pytest.raises(discord.HTTPException) as refused:
            await general.get_partial_message(sent[50].id).pin()
        assert refused.value.status == 400 and refused.value.code == 30003
