"""Three GPU hosts behind one server-bot on devcord: the real SmolLM2 model plus two fake engines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from client_bot.engine import EngineConfig, FakeEngine, LlamaEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.scripted_user import has_regenerate_button
from meatlizard.stack import Stack, multi_host_scenario
from tests.e2e.harness import bot_reply, eventually, stack_on, start_chat

pytestmark = [pytest.mark.e2e, pytest.mark.llm]

WORDS = 30
REPLY = " ".join(f"w{index}" for index in range(WORDS))
GREEDY = {"default_temperature": 0.0, "default_max_tokens": 32}
USERS = ["alice", "bob", "user-001", "user-002", "user-003", "admin"]


@pytest.fixture
def devcord_scenario() -> dict[str, Any]:
    return multi_host_scenario(3, users=3, heartbeat_interval_ms=1000)


def fake_engine() -> FakeEngine:
    # Fixed speed: 30 tokens at 0.1 s each, so a reply is still streaming 1-2 s in.
    return FakeEngine(lambda _: REPLY, token_delay_s=0.1)


async def finished_replies(driver: Driver, channel: int, after: int) -> list[dict[str, Any]]:
    return [
        m
        for m in await driver.messages(channel)
        if int(m["id"]) > after and m["author"].get("bot") and has_regenerate_button(m)
    ]


async def test_three_hosts_with_the_real_model_share_prompts_and_survive_a_fake_host_dying_mid_reply(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    fakes = [fake_engine(), fake_engine()]
    real = LlamaEngine(EngineConfig(n_ctx=2048, n_threads=2))
    async with stack_on(
        devcord, real, tmp_path, chat=GREEDY, heartbeat_interval_s=1.0, extra_host_engines=fakes
    ) as stack:
        hub = stack.server.ctx.hub
        await eventually(lambda: _all_online(stack), timeout=20)

        # Several users at once: every host gets work, every prompt exactly one complete reply.
        channels = await asyncio.gather(*(start_chat(driver, user) for user in USERS))
        prompts = await asyncio.gather(
            *(driver.post(channel, user, "Say hello.") for user, channel in zip(USERS, channels, strict=True))
        )
        replies = await asyncio.gather(
            *(
                bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=45)
                for channel, prompt in zip(channels, prompts, strict=True)
            )
        )
        await asyncio.sleep(1.0)  # a duplicate would show by now
        for channel, prompt in zip(channels, prompts, strict=True):
            assert len(await finished_replies(driver, channel, int(prompt["id"]))) == 1
        by_real = [r for r in replies if r["content"] != REPLY]
        assert all(r["content"].strip() for r in by_real)
        assert len(by_real) >= 1, "the real model answered some"
        assert [len(e.stats().recent) >= 1 for e in fakes] == [True, True], "both fake hosts answered some"
        assert len(by_real) + sum(len(e.stats().recent) for e in fakes) == len(USERS)

        # Keep the real host out of the next round so the moved request lands on the other fake host.
        real_id = stack.settings.discord.client_bot_user_id
        async with asyncio.timeout(10):
            await hub.drain(real_id)
        channel = channels[0]
        prompt = await driver.post(channel, USERS[0], "Tell me more.")
        await driver.wait_for_message(
            channel, lambda m: int(m["id"]) > int(prompt["id"]) and m["content"].startswith("w0"), within=10
        )
        (owner,) = [host.user_id for host in hub.hosts() if host.in_flight]
        number = next(n for n, (d, _, _) in stack.host_settings.items() if d.client_bot_user_id == owner)
        survivor = fakes[1] if number == 2 else fakes[0]
        served_before = len(survivor.stats().recent)
        moves_before = hub.moves
        await stack.stop_host(number)
        await eventually(lambda: _moved_since(stack, moves_before), timeout=10)  # moved within 10 s
        reply = await bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=20)
        await asyncio.sleep(1.0)  # anything late from the dead host would show by now
        moved = await finished_replies(driver, channel, int(prompt["id"]))
        hub.undrain(real_id)
    assert reply["content"] == REPLY
    assert len(moved) == 1
    assert len(survivor.stats().recent) == served_before + 1  # the other fake host answered it once


async def _all_online(stack: Stack) -> bool:
    hosts = stack.server.ctx.hub.hosts()
    return len(hosts) == 3 and all(host.online for host in hosts)


async def _moved_since(stack: Stack, moves_before: int) -> bool:
    return stack.server.ctx.hub.moves > moves_before
