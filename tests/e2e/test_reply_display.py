"""How a reply appears in a session channel on devcord: its place in the AI host's queue while it
waits, and the first words followed soon by more (the pacing does not leave them alone on screen)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import discord
import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from server_bot.reply_writer import ReplyWriter
from tests.e2e.harness import bot_reply, stack_on, start_chat

pytestmark = pytest.mark.e2e

LONG = {"default_max_tokens": 4000, "max_max_tokens": 8000}


def _states(message: dict[str, Any]) -> list[str]:
    """Every content the message showed, as posted first, then after each edit."""
    return [snapshot["content"] for snapshot in message.get("history", [])] + [message["content"]]


async def test_a_waiting_prompt_shows_its_place_in_the_queue_until_the_reply_replaces_it(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    # One request at a time, slowly: the users after the first wait in the AI host's queue.
    engine = FakeEngine(lambda request: "word " * 40 + request.messages[-1].content, token_delay_s=0.05)
    await driver.create_user("carol")
    async with stack_on(devcord, engine, tmp_path, chat=LONG):
        channels = {user: await start_chat(driver, user) for user in ("alice", "bob", "carol")}
        prompts = {}
        for user, channel in channels.items():
            prompts[user] = await driver.post(channel, user, f"from {user}")
            await asyncio.sleep(0.3)  # the host has the earlier prompt before the next arrives
        replies = {
            user: await bot_reply(driver, channel, after=int(prompts[user]["id"]), timeout_s=30)
            for user, channel in channels.items()
        }
    carol = replies["carol"]
    # Carol waited behind Alice's running reply and Bob's waiting one; the reply took the notice's place.
    assert _states(carol)[0] == "⏳ You are 2 in the queue."
    assert carol["content"].endswith("from carol") and "queue" not in carol["content"]
    assert "queue" not in _states(replies["alice"])[0]  # the first in line never waited
    # Nothing else was posted for the queue: the placeholder became the reply.
    after_prompt = [
        m
        for m in await driver.messages(channels["carol"])
        if int(m["id"]) > int(prompts["carol"]["id"]) and m["author"].get("bot")
    ]
    assert [m["id"] for m in after_prompt] == [carol["id"]]


async def test_the_first_edit_follows_the_first_words_even_when_the_edit_bucket_is_half_spent(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(devcord, FakeEngine(), tmp_path) as stack:
        channel_id = await start_chat(driver, "alice")
        channel = stack.server.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        # An earlier edit in this channel (as when the last reply's Regenerate button is removed) has
        # opened the edit bucket: spreading its rest evenly would hold the next edit ~1.7 s.
        earlier = await channel.send("earlier reply")
        await earlier.edit(content="earlier reply, button removed")
        writer = ReplyWriter(channel)
        words = [f"w{i}" for i in range(30)]
        for count in range(1, len(words) + 1):  # the core's text so far, a word every 0.1 s
            writer.update(" ".join(words[:count]))
            await asyncio.sleep(0.1)
        await writer.finish(" ".join(words))
        assert writer.first_message is not None
        reply = next(m for m in await driver.messages(channel_id) if m["id"] == str(writer.first_message.id))
    posted, first_edit = _states(reply)[:2]
    # At 0.1 s a word, a 1.7 s wait would put ~17 more words in the first edit.
    assert len(first_edit.split()) - len(posted.split()) <= 6


async def test_the_queue_placeholder_follows_the_place_and_goes_when_no_reply_follows(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(devcord, FakeEngine(), tmp_path) as stack:
        channel_id = await start_chat(driver, "alice")
        channel = stack.server.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        writer = ReplyWriter(channel)
        for place in (3, 2, 1):
            writer.queued(f"⏳ You are {place} in the queue.")
            await asyncio.sleep(1.2)  # the edit bucket (5 per 5 s) lets each place show
        writer.update("Hello")
        await writer.finish("Hello there")
        assert writer.first_message is not None
        answered = str(writer.first_message.id)

        abandoned = ReplyWriter(channel)
        abandoned.queued("⏳ You are 1 in the queue.")
        await asyncio.sleep(0.5)
        assert abandoned.first_message is not None
        placeholder = str(abandoned.first_message.id)
        await abandoned.abandon()  # e.g. the host failed: no reply will take the notice's place
        shown = {m["id"]: m for m in await driver.messages(channel_id)}
    states = _states(shown[answered])
    assert states[:3] == [f"⏳ You are {place} in the queue." for place in (3, 2, 1)]
    assert states[-1] == "Hello there" and not any("queue" in state for state in states[3:])
    assert placeholder not in shown
