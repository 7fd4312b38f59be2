"""`/chat forget` and `/chat export` on devcord: forget asks first and then leaves nothing of the user;
cancel leaves everything; export reaches only the user and holds their data and nobody else's."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver, DriverError
from meatlizard.stack import Stack
from server_bot.exts.chat.user_data import FORGET_CANCELLED, FORGET_QUESTION, FORGET_TIMED_OUT
from tests.e2e.harness import bot_reply, eventually, shown_texts, stack_on, start_chat

pytestmark = pytest.mark.e2e

ALICE_TEXT = "alice-says-PERIWINKLE"
BOB_TEXT = "bob-says-HAZELNUT"


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def _chat(driver: Driver, user: str, text: str) -> int:
    channel = await start_chat(driver, user)
    prompt = await driver.post(channel, user, text)
    await bot_reply(driver, channel, after=int(prompt["id"]))
    return channel


async def _ask_to_forget(driver: Driver, user: str) -> tuple[str, dict[str, Any]]:
    """Run `/chat forget`; returns the interaction id and the ephemeral question it showed."""
    started = await driver.command(user, "general", "chat forget")
    view = await driver.wait_interaction(started["id"], lambda v: v["original"] is not None, within=10)
    return str(started["id"]), view["original"]


def _button(message: dict[str, Any], label: str) -> str:
    buttons = [b for row in message["components"] for b in row["components"]]
    (button,) = [b for b in buttons if b.get("label") == label]
    return str(button["custom_id"])


async def test_forget_after_confirmation_leaves_nothing_of_the_user_and_deletes_the_channel(
    stack: Stack, driver: Driver
) -> None:
    repo = stack.server.ctx.repo
    alice, bob = await driver.user_id("alice"), await driver.user_id("bob")
    alice_channel = await _chat(driver, "alice", ALICE_TEXT)
    bob_channel = await _chat(driver, "bob", BOB_TEXT)

    asked, question = await _ask_to_forget(driver, "alice")
    assert question["content"] == FORGET_QUESTION and question["ephemeral"]
    confirm = _button(question, "Delete everything")
    # Nobody else can even see it to press it.
    with pytest.raises(DriverError):
        await driver.click("bob", "general", question["id"], confirm)
    assert await repo.list_sessions_for_user(alice) != []

    await driver.click("alice", "general", question["id"], confirm)
    done = await driver.wait_interaction(asked, lambda v: "Done" in (v["original"] or {}).get("content", ""))
    assert "1 chats" in done["original"]["content"]

    assert await repo.list_sessions_for_user(alice) == []
    assert await repo.get_user(alice) is None
    assert await repo.recent_audit_events(user_id=alice) == []
    assert await repo.violations_for_user(alice) == []

    async def channel_gone() -> bool:
        return alice_channel not in {int(c["id"]) for c in await driver.visible_channels("admin")}

    await eventually(channel_gone)
    # Bob is untouched.
    (bobs,) = await repo.list_sessions_for_user(bob)
    assert bobs.is_open and bobs.channel_id == bob_channel
    assert bob_channel in {int(c["id"]) for c in await driver.visible_channels("bob")}


async def test_cancel_leaves_everything(stack: Stack, driver: Driver) -> None:
    repo = stack.server.ctx.repo
    alice = await driver.user_id("alice")
    channel = await _chat(driver, "alice", ALICE_TEXT)

    asked, question = await _ask_to_forget(driver, "alice")
    await driver.click("alice", "general", question["id"], _button(question, "Cancel"))
    done = await driver.wait_interaction(
        asked, lambda v: (v["original"] or {}).get("content") == FORGET_CANCELLED
    )
    assert done["original"]["components"] == []

    (session,) = await repo.list_sessions_for_user(alice)
    assert session.is_open and session.channel_id == channel
    assert await repo.get_user(alice) is not None
    assert channel in {int(c["id"]) for c in await driver.visible_channels("alice")}


async def test_an_unanswered_question_times_out_and_deletes_nothing(
    stack: Stack, driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module the running bot loaded (discord.py re-imports an extension's modules on each load).
    monkeypatch.setattr(sys.modules["server_bot.exts.chat.user_data"], "CONFIRM_TIMEOUT_S", 0.5)
    alice = await driver.user_id("alice")
    await _chat(driver, "alice", ALICE_TEXT)

    asked, _ = await _ask_to_forget(driver, "alice")
    done = await driver.wait_interaction(
        asked, lambda v: (v["original"] or {}).get("content") == FORGET_TIMED_OUT, within=10
    )

    assert done["original"]["components"] == []
    assert len(await stack.server.ctx.repo.list_sessions_for_user(alice)) == 1


async def test_export_holds_the_users_messages_and_nothing_of_another_user(
    stack: Stack, driver: Driver
) -> None:
    await _chat(driver, "alice", ALICE_TEXT)
    await _chat(driver, "bob", BOB_TEXT)

    started = await driver.command("alice", "general", "chat export")
    view = await driver.wait_interaction(
        started["id"], lambda v: bool((v.get("original") or {}).get("attachments")), within=15
    )
    message = view["original"]
    assert message["ephemeral"]
    assert "only you" in shown_texts(view)[-1]
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "meatlizard-export.json"
    async with aiohttp.ClientSession() as http, http.get(attachment["url"]) as response:
        raw = await response.read()
    document = json.loads(raw)
    assert ALICE_TEXT in raw.decode()
    assert BOB_TEXT not in raw.decode() and str(await driver.user_id("bob")) not in raw.decode()
    assert document["format"] == "meatlizard-export/1"
    assert await driver.user_interactions("bob") == [] or all(
        "meatlizard-export" not in str(i) for i in await driver.user_interactions("bob")
    )
