"""The bugs found when the product was tried as a new user would, each through devcord end to end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver, DriverError
from meatlizard.stack import Stack
from tests.e2e.harness import (
    bot_reply,
    command_reply,
    eventually,
    has_regenerate_button,
    stack_on,
    start_chat,
)

pytestmark = pytest.mark.e2e

LONG = {"default_max_tokens": 4000, "max_max_tokens": 8000}


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


def _regen_id(message: dict[str, object]) -> str:
    return str(message["components"][0]["components"][0]["custom_id"])  # type: ignore[index]


async def _after(driver: Driver, channel: int, message_id: int, text: str) -> dict[str, object]:
    return await driver.wait_for_message(
        channel, lambda m: int(m["id"]) > message_id and text in m["content"], within=5
    )


async def test_an_older_reply_loses_regenerate_and_its_old_button_is_refused(
    stack: Stack, driver: Driver
) -> None:
    channel = await start_chat(driver, "alice")
    first_prompt = await driver.post(channel, "alice", "one")
    first = await bot_reply(driver, channel, after=int(first_prompt["id"]))
    old_button = _regen_id(first)
    second_prompt = await driver.post(channel, "alice", "two")
    second = await bot_reply(driver, channel, after=int(second_prompt["id"]))

    async def first_lost_its_button() -> bool:
        current = next(m for m in await driver.messages(channel) if m["id"] == first["id"])
        return not has_regenerate_button(current)

    await eventually(first_lost_its_button, timeout=5)
    assert has_regenerate_button(second)

    # The button is gone, so Discord itself refuses the click (the core would refuse it too, should an old
    # button survive, e.g. across a restart: see tests/server_bot/core).
    with pytest.raises(DriverError, match="Unknown component"):
        await driver.click("alice", channel, first["id"], old_button)
    # Regenerate on the latest reply acts on THAT reply.
    view = await driver.click("alice", channel, second["id"], _regen_id(second))
    await driver.wait_interaction(view["id"], lambda v: True)
    again = await bot_reply(driver, channel, after=int(second["id"]))
    assert again["content"] == "You said: two"
    session = await stack.server.ctx.repo.get_session_by_channel(channel)
    assert session is not None
    turns = await stack.server.ctx.repo.history(session.id)
    assert [text for _, text in turns] == ["one", "You said: one", "two", "You said: two"]
    assert len([m for m in await driver.messages(channel) if has_regenerate_button(m)]) == 1


async def test_chat_end_while_a_reply_streams_cancels_it_cleanly(
    devcord: Devcord, driver: Driver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = FakeEngine(lambda _: "word " * 400, token_delay_s=0.02)
    async with stack_on(devcord, engine, tmp_path, chat=LONG) as stack:
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", "talk forever")
        await driver.wait_for_message(
            channel,
            lambda m: int(m["id"]) > int(prompt["id"]) and "ml:stop:" in str(m["components"]),
            within=10,
        )
        with caplog.at_level(logging.WARNING):
            text = await command_reply(driver, "alice", channel, "chat end")
            assert "closed" in text

            async def nothing_in_flight() -> bool:
                return stack.server.ctx.hub.in_flight == 0

            await eventually(nothing_in_flight, timeout=10)
            await asyncio.sleep(0.2)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]
    assert "SessionNotOpen" not in caplog.text


async def test_bare_chat_lists_its_subcommands(stack: Stack, driver: Driver) -> None:
    text = await command_reply(driver, "alice", "general", "chat")
    assert "Something went wrong" not in text
    assert "/chat start" in text


@pytest.mark.parametrize("prompt", ["   ", "\u200b\u200b", " \u2060\ufeff "])
async def test_whitespace_only_prompts_are_answered_with_a_hint(
    stack: Stack, driver: Driver, prompt: str
) -> None:
    channel = await start_chat(driver, "alice")
    posted = await driver.post(channel, "alice", prompt)
    told = await _after(driver, channel, int(posted["id"]), "no visible text")
    assert told["author"]["bot"]  # type: ignore[index]


async def test_a_prompt_with_a_lone_surrogate_is_answered(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    posted = await driver.post(channel, "alice", "half an emoji \ud83d here")
    reply = await bot_reply(driver, channel, after=int(posted["id"]))
    assert reply["content"] == "You said: half an emoji \ufffd here"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({"temperature": 1.8}, "from 0 to at most 1.5", id="temperature-over-server-bound"),
        pytest.param({"max_tokens": 5000}, "from 1 to at most 1024", id="max-tokens-over-server-bound"),
    ],
)
async def test_settings_within_discords_limits_but_over_the_servers_are_refused_by_the_core(
    stack: Stack, driver: Driver, options: dict[str, float], expected: str
) -> None:
    channel = await start_chat(driver, "alice")
    assert expected in await command_reply(driver, "alice", channel, "chat settings", **options)
    posted = await driver.post(channel, "alice", "still fine?")
    assert (await bot_reply(driver, channel, after=int(posted["id"])))["content"] == "You said: still fine?"


@pytest.mark.parametrize(
    ("command", "options"),
    [
        pytest.param("chat settings", {"temperature": -1}, id="negative-temperature"),
        pytest.param("chat settings", {"max_tokens": 0}, id="zero-max-tokens"),
        pytest.param("chat settings", {"max_tokens": -3}, id="negative-max-tokens"),
        pytest.param("chat system", {"prompt": "x" * 10_000}, id="huge-system-prompt"),
    ],
)
async def test_values_outside_the_declared_option_limits_are_refused_before_the_bot(
    stack: Stack, driver: Driver, command: str, options: dict[str, object]
) -> None:
    # Discord (and devcord) refuse these from the registered option limits; the core's own checks for
    # the same values are proven in tests/server_bot/core without Discord in front.
    channel = await start_chat(driver, "alice")
    with pytest.raises(DriverError) as refused:
        await command_reply(driver, "alice", channel, command, **options)
    assert refused.value.status == 400
    posted = await driver.post(channel, "alice", "hello")
    assert (await bot_reply(driver, channel, after=int(posted["id"])))["content"] == "You said: hello"


async def test_a_look_alike_admin_role_grants_nothing(stack: Stack, driver: Driver) -> None:
    guild = (await driver.state())["guilds"][0]["id"]
    fake = await driver.create_role(guild, "AI Admin")
    await driver.add_role(guild, "bob", fake["id"])
    for command, options in [
        ("ai-admin status", {}),
        ("ai-admin toggle", {"setting": "requests"}),
        ("ai-admin permissions", {}),
    ]:
        text = await command_reply(driver, "bob", "general", command, **options)
        assert "needs the AI Admin role" in text, command
    assert not await stack.server.ctx.core.access.paused()


async def test_after_a_server_bot_restart_chats_answer_and_a_cut_off_prompt_is_told_once(
    devcord: Devcord, driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same keys for both runs, as a real restart has (the stack draws fresh ones per start).
    keys = iter(["11" * 32, "22" * 32] * 4)
    monkeypatch.setattr("meatlizard.stack.generate_key_hex", lambda: next(keys))
    async with stack_on(devcord, FakeEngine(), tmp_path, reply_timeout_s=30.0) as stack:
        channel = await start_chat(driver, "alice")
        await stack.stop_client()
        await driver.post(channel, "alice", "are you there")

        async def accepted() -> bool:
            return stack.server.ctx.hub.in_flight == 1

        await eventually(accepted)
    async with stack_on(devcord, FakeEngine(), tmp_path):
        prompt = await driver.post(channel, "alice", "after the restart")
        reply = await bot_reply(driver, channel, after=int(prompt["id"]))
        assert reply["content"] == "You said: after the restart"
    told = [m for m in await driver.messages(channel) if "server restarted" in m["content"]]
    assert len(told) == 1


async def test_a_prompt_posted_while_the_server_bot_was_down_is_answered_once_it_is_back(
    devcord: Devcord, driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = iter(["11" * 32, "22" * 32] * 4)
    monkeypatch.setattr("meatlizard.stack.generate_key_hex", lambda: next(keys))
    async with stack_on(devcord, FakeEngine(), tmp_path):
        channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "while you were away")  # no server-bot to see it
    async with stack_on(devcord, FakeEngine(), tmp_path):
        reply = await bot_reply(driver, channel, after=int(prompt["id"]))
        assert reply["content"] == "You said: while you were away"
        await asyncio.sleep(0.5)
    messages = await driver.messages(channel)
    assert len([m for m in messages if m["author"].get("bot") and "You said" in m["content"]]) == 1
