"""Who can see what: session channels are private, the relay channel is for the two bots, and Discord
only ever stores ciphertext in it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver, DriverError
from meatlizard.stack import Stack
from shared.envelope import TEXT_PREFIX
from tests.e2e.harness import bot_reply, stack_on, start_chat

pytestmark = pytest.mark.e2e

PROMPT = "my secret plan is purple elephants"


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def test_other_user_can_neither_see_nor_post_in_a_session_channel(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    assert channel in {int(c["id"]) for c in await driver.visible_channels("alice")}
    assert channel not in {int(c["id"]) for c in await driver.visible_channels("bob")}
    with pytest.raises(DriverError) as refused:
        await driver.post(channel, "bob", "let me in")
    assert refused.value.status == 403


async def test_ai_admin_can_see_a_session_channel(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    assert channel in {int(c["id"]) for c in await driver.visible_channels("admin")}


@pytest.mark.parametrize("user", ["alice", "bob", "admin"])
async def test_people_cannot_see_the_relay_channels(stack: Stack, driver: Driver, user: str) -> None:
    visible = {int(c["id"]) for c in await driver.visible_channels(user)}
    assert not visible & set(stack.relay_channel_ids)


async def test_relay_channel_holds_only_ciphertext(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", PROMPT)
    reply = await bot_reply(driver, channel, after=int(prompt["id"]))
    assert PROMPT in reply["content"]

    relayed = [m for relay in stack.relay_channel_ids for m in await driver.messages(relay)]
    server_bot = await driver.user_id("server-bot")
    assert any(int(m["author"]["id"]) == server_bot for m in relayed), "the prompt went through the relay"
    for message in relayed:
        texts = [message["content"], *(version.get("content", "") for version in message.get("history", []))]
        for text in texts:
            assert text.startswith(TEXT_PREFIX) or (not text and message["attachments"])
            for word in ("secret", "purple", "elephants", "You said"):
                assert word not in text
                body = text.removeprefix(TEXT_PREFIX)
                decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
                assert word.encode() not in decoded


async def test_envelope_from_an_unpaired_bot_gets_no_answer(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "first")
    await bot_reply(driver, channel, after=int(prompt["id"]))
    # A rogue bot that somehow got into the relay channel replays the server-bot's prompt envelope.
    role = await driver.create_role("MeatLizard", "rogue-admin", ["ADMINISTRATOR"])
    await driver.add_role("MeatLizard", "rogue-bot", role["id"])
    server_bot = await driver.user_id("server-bot")
    posted = [(relay, m) for relay in stack.relay_channel_ids for m in await driver.messages(relay)]
    relay, copied = next((relay, m) for relay, m in posted if int(m["author"]["id"]) == server_bot)
    before = len(await driver.messages(relay))
    await driver.post(relay, "rogue-bot", copied["content"])
    await asyncio.sleep(1.0)
    after = await driver.messages(relay)
    assert len(after) == before + 1, "nobody answered the rogue envelope"
