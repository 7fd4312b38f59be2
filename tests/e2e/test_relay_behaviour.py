"""The relay under real conditions: an offline GPU host, long replies, Stop and Regenerate, Discord's
rate limits, and the per-user session rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_bot.engine import FakeEngine, long_reply
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack
from tests.e2e.harness import bot_reply, command_reply, stack_on, start_chat

pytestmark = pytest.mark.e2e

FENCE = "```"
LONG = {"default_max_tokens": 4000, "max_max_tokens": 8000}


def _from_bot(message: dict[str, object]) -> bool:
    return bool(message["author"].get("bot"))  # type: ignore[attr-defined]


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path, reply_timeout_s=1.0, prompt_keep_s=30.0) as running:
        yield running


async def test_offline_host_is_reported_and_the_prompt_answered_when_it_returns(
    stack: Stack, driver: Driver
) -> None:
    channel = await start_chat(driver, "alice")
    await stack.stop_client()
    prompt = await driver.post(channel, "alice", "are you there")
    notice = await driver.wait_for_message(
        channel, lambda m: int(m["id"]) > int(prompt["id"]) and "offline" in m["content"], within=5
    )
    assert "kept" in notice["content"]

    await stack.start_client(FakeEngine())
    reply = await bot_reply(driver, channel, after=int(prompt["id"]))
    assert reply["content"] == "You said: are you there"


async def test_prompt_is_dropped_with_a_message_when_the_host_stays_away(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(devcord, FakeEngine(), tmp_path, reply_timeout_s=0.5, prompt_keep_s=1.5) as stack:
        channel = await start_chat(driver, "alice")
        await stack.stop_client()
        prompt = await driver.post(channel, "alice", "hello?")
        gave_up = await driver.wait_for_message(
            channel,
            lambda m: int(m["id"]) > int(prompt["id"]) and "did not come back" in m["content"],
            within=5,
        )
        assert "send it again" in gave_up["content"]


async def test_reply_over_2000_characters_is_split_outside_code_fences(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    text = long_reply(6000)
    async with stack_on(devcord, FakeEngine(lambda _: text), tmp_path, chat=LONG):
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", "tell me a long story")
        last = await bot_reply(driver, channel, after=int(prompt["id"]))
        pages = [
            m["content"]
            for m in await driver.messages(channel)
            if _from_bot(m) and int(prompt["id"]) < int(m["id"]) <= int(last["id"])
        ]
    assert len(pages) >= 3
    assert all(len(page) <= 2000 for page in pages)
    assert all(page.count(FENCE) % 2 == 0 for page in pages)
    assert "".join(pages).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


async def test_stop_ends_the_reply_early(devcord: Devcord, driver: Driver, tmp_path: Path) -> None:
    engine = FakeEngine(lambda _: "word " * 400, token_delay_s=0.02)
    async with stack_on(devcord, engine, tmp_path, chat=LONG):
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", "talk forever")
        streaming = await driver.wait_for_message(
            channel,
            lambda m: int(m["id"]) > int(prompt["id"]) and "ml:stop:" in str(m["components"]),
            within=10,
        )
        stop_id = streaming["components"][0]["components"][0]["custom_id"]
        await driver.click("alice", channel, streaming["id"], stop_id)
        final = await bot_reply(driver, channel, after=int(prompt["id"]))
    assert final["content"].endswith("*(stopped)*")
    assert final["content"].count("word") < 400


async def test_regenerate_answers_the_last_prompt_again(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "once more")
    first = await bot_reply(driver, channel, after=int(prompt["id"]))
    regen_id = first["components"][0]["components"][0]["custom_id"]
    await driver.click("alice", channel, first["id"], regen_id)
    second = await bot_reply(driver, channel, after=int(first["id"]))
    assert second["content"] == "You said: once more"
    session = await stack.server.ctx.repo.get_session_by_channel(channel)
    assert session is not None
    turns = await stack.server.ctx.repo.history(session.id)
    assert [role.value for role, _ in turns] == ["user", "assistant"], "the old reply was replaced"


async def test_second_start_points_to_the_open_session(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    again = await command_reply(driver, "alice", "general", "chat start")
    assert f"<#{channel}>" in again and "already" in again


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({"temperature": 1.9}, "at most 1.5", id="temperature-above-bound"),
        pytest.param({"max_tokens": 5000}, "at most 1024", id="max-tokens-above-bound"),
        pytest.param(
            {"temperature": 0.2, "max_tokens": 64}, "temperature 0.2, max tokens 64", id="within-bounds"
        ),
    ],
)
async def test_settings_are_kept_within_configured_bounds(
    stack: Stack, driver: Driver, options: dict[str, float], expected: str
) -> None:
    channel = await start_chat(driver, "alice")
    assert expected in await command_reply(driver, "alice", channel, "chat settings", **options)


async def test_commands_without_a_session_explain_how_to_start(stack: Stack, driver: Driver) -> None:
    assert "/chat start" in await command_reply(driver, "bob", "general", "chat reset")


async def test_steady_streaming_draws_no_429(devcord: Devcord, driver: Driver, tmp_path: Path) -> None:
    engine = FakeEngine(lambda _: "token " * 300, token_delay_s=0.01)
    async with stack_on(devcord, engine, tmp_path, chat=LONG):
        channel = await start_chat(driver, "alice")
        for n in range(3):
            prompt = await driver.post(channel, "alice", f"stream {n}")
            await bot_reply(driver, channel, after=int(prompt["id"]))
            await asyncio.sleep(0)
    assert await driver.served_429() == 0


async def test_user_is_told_once_when_older_turns_no_longer_fit_the_context(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    engine = FakeEngine(n_ctx=64)
    async with stack_on(devcord, engine, tmp_path, chat={"default_max_tokens": 8}):
        channel = await start_chat(driver, "alice")
        for n in range(6):
            prompt = await driver.post(channel, "alice", f"message number {n} with a few more words in it")
            await bot_reply(driver, channel, after=int(prompt["id"]))
        await driver.wait_for_message(channel, lambda m: "longer than the model can read" in m["content"])
        await asyncio.sleep(0.3)  # a repeated notice would follow its reply at once
        notices = [m for m in await driver.messages(channel) if "longer than the model" in m["content"]]
    assert len(notices) == 1, "said once per session, not after every reply"
    assert "/chat reset" in notices[0]["content"]
