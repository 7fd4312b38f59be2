"""What a reply costs in the bot's Discord request budget when it has to wait its turn (many replies in
flight): the first text is not held up by housekeeping, and a final known by the time the first write's
turn comes is that write. The budget is slowed down here so the waits are certain, not raced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.scripted_user import has_regenerate_button
from meatlizard.stack import Stack
from server_bot.discord_budget import DiscordBudget, Priority
from server_bot.exts.chat.replies import RegenerateButton, one_button
from server_bot.reply_writer import LatestReplies, ReplyWriter, budget_of
from tests.e2e.harness import eventually, stack_on, start_chat

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def _channel(stack: Stack, driver: Driver) -> discord.TextChannel:
    channel = stack.server.get_channel(await start_chat(driver, "alice"))
    assert isinstance(channel, discord.TextChannel)
    return channel


async def _starve(budget: DiscordBudget) -> float:
    """Spend the budget and slow it to one request every 2 s; returns the rate to restore."""
    rate = budget.rate_per_s
    budget.rate_per_s = 0.5
    for _ in range(budget.burst + 1):
        await budget.acquire(Priority.FIRST_TEXT)
    return rate


async def _message(driver: Driver, channel_id: int, message_id: int) -> dict[str, Any]:
    return next(m for m in await driver.messages(channel_id) if int(m["id"]) == message_id)


async def test_a_final_reply_that_arrives_while_the_first_write_waits_its_turn_is_that_write(
    stack: Stack, driver: Driver
) -> None:
    channel = await _channel(stack, driver)
    budget = budget_of(channel)
    rate = await _starve(budget)
    try:
        writer = ReplyWriter(channel)
        writer.update("The first words")
        await asyncio.sleep(0.1)  # the first write now waits for its turn (~2 s)
        await writer.finish("The first words and the rest.", done_view=one_button(RegenerateButton(1)))
    finally:
        budget.rate_per_s = rate
    assert writer.first_message is not None
    reply = await _message(driver, channel.id, writer.first_message.id)
    # Posted once, already final: no intermediate version, no edit, the Regenerate button on it.
    assert reply["content"] == "The first words and the rest."
    assert not reply.get("history")
    assert has_regenerate_button(reply)


async def test_removing_an_older_replys_button_does_not_hold_up_the_new_reply(
    stack: Stack, driver: Driver
) -> None:
    channel = await _channel(stack, driver)
    older = await channel.send("an older reply", view=one_button(RegenerateButton(1)))
    latest = LatestReplies()
    latest.remember(channel.id, older)
    budget = budget_of(channel)
    rate = await _starve(budget)
    try:
        latest.retire(channel.id)  # returns at once: the removal waits in the background
        writer = ReplyWriter(channel)
        writer.update("the new reply")
        await writer.finish("the new reply")
    finally:
        budget.rate_per_s = rate
    # The new reply was shown while the older one still had its button: the removal went after it.
    assert has_regenerate_button(await _message(driver, channel.id, older.id))

    async def older_lost_its_button() -> bool:
        return not has_regenerate_button(await _message(driver, channel.id, older.id))

    await eventually(older_lost_its_button, timeout=10)
    await latest.aclose()


async def test_closing_cancels_a_button_removal_still_waiting(stack: Stack, driver: Driver) -> None:
    channel = await _channel(stack, driver)
    older = await channel.send("an older reply", view=one_button(RegenerateButton(1)))
    latest = LatestReplies()
    latest.remember(channel.id, older)
    budget = budget_of(channel)
    rate = await _starve(budget)
    try:
        latest.retire(channel.id)
        await latest.aclose()
    finally:
        budget.rate_per_s = rate
    await asyncio.sleep(0.5)
    assert has_regenerate_button(await _message(driver, channel.id, older.id))


async def test_a_queue_place_is_not_shown_while_replies_wait_for_the_budget(
    stack: Stack, driver: Driver
) -> None:
    channel = await _channel(stack, driver)
    budget = budget_of(channel)
    rate = await _starve(budget)
    try:
        waiting = asyncio.create_task(budget.acquire(Priority.FINAL))  # another reply waits its turn
        await asyncio.sleep(0)
        writer = ReplyWriter(channel)
        writer.queued("⏳ You are 2 in the queue.")
        await asyncio.sleep(0.1)
        writer.update("the reply")
        await writer.finish("the reply")
        await waiting
    finally:
        budget.rate_per_s = rate
    assert writer.first_message is not None
    reply = await _message(driver, channel.id, writer.first_message.id)
    # The budget went to text: the place in the queue was never posted.
    versions = [*(v["content"] for v in reply.get("history") or []), reply["content"]]
    assert not any("queue" in str(v) for v in versions)


async def test_button_removals_queued_in_one_channel_all_happen_one_after_another(
    stack: Stack, driver: Driver
) -> None:
    channel = await _channel(stack, driver)
    latest = LatestReplies()
    olders = []
    for n in range(3):  # three turns whose removals all waited out a busy spell
        older = await channel.send(f"reply {n}", view=one_button(RegenerateButton(n + 1)))
        olders.append(older)
        latest.remember(channel.id, older)
        latest.retire(channel.id)

    async def all_lost_their_buttons() -> bool:
        now = [await _message(driver, channel.id, m.id) for m in olders]
        return not any(has_regenerate_button(m) for m in now)

    await eventually(all_lost_their_buttons, timeout=10)
    await latest.aclose()
