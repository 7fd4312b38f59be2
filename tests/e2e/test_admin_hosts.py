"""`/ai-admin` over two GPU hosts on devcord: status lists each, drain steers work away and says when the
host's last reply ends, undrain, a reboot aimed at one host, and host ids that are refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack, host_bot_id, multi_host_scenario
from tests.e2e.harness import bot_reply, command_reply, eventually, shown_texts, stack_on, start_chat

pytestmark = pytest.mark.e2e

SLOW = " ".join(["slow"] * 20)


@pytest.fixture
def devcord_scenario() -> dict[str, Any]:
    return multi_host_scenario(2, heartbeat_interval_ms=1000)


@pytest.fixture
async def engines() -> list[FakeEngine]:
    return [FakeEngine(lambda _: SLOW, token_delay_s=0.1), FakeEngine(lambda _: SLOW, token_delay_s=0.01)]


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path, engines: list[FakeEngine]) -> AsyncIterator[Stack]:
    async with stack_on(
        devcord, engines[0], tmp_path, heartbeat_interval_s=1.0, extra_host_engines=engines[1:]
    ) as running:

        async def all_online() -> bool:
            return all(host.online for host in running.server.ctx.hub.hosts())

        await eventually(all_online, timeout=10)
        yield running


def served(engines: list[FakeEngine]) -> list[int]:
    return [len(e.stats().recent) for e in engines]


async def test_status_lists_every_host_with_model_load_queue_speed_and_last_seen(
    stack: Stack, driver: Driver
) -> None:
    first, second = stack.settings.discord.client_bot_user_id, host_bot_id(2)
    text = await command_reply(driver, "admin", "general", "ai-admin status")
    assert "GPU hosts: 2 of 2 online" in text
    for host_id in (first, second):
        (line,) = [line for line in text.splitlines() if f"`{host_id}`" in line]
        assert "online, model `fake-engine`" in line
        assert "in flight /" in line and "slots, queue 0" in line
        assert "tokens/s" in line and "last seen" in line
        assert "draining" not in line


async def test_drain_sends_new_work_elsewhere_and_tells_when_the_last_reply_ended(
    stack: Stack, driver: Driver, engines: list[FakeEngine]
) -> None:
    first = stack.settings.discord.client_bot_user_id
    hub = stack.server.ctx.hub
    alice = await start_chat(driver, "alice")
    prompt = await driver.post(alice, "alice", "take your time")

    async def on_a_host() -> bool:
        return any(host.in_flight for host in hub.hosts())

    await eventually(on_a_host)
    (owner,) = [host.user_id for host in hub.hosts() if host.in_flight]
    view = await driver.command("admin", "general", "ai-admin drain", host=str(owner))
    started = await driver.wait_interaction(view["id"], lambda v: bool(shown_texts(v)), within=10)
    assert "is draining" in shown_texts(started)[0]
    assert "1 replies it holds finish first" in shown_texts(started)[0]
    assert "draining" in await _status_line(driver, owner)

    bob = await start_chat(driver, "bob")
    bob_prompt = await driver.post(bob, "bob", "me too")
    await bot_reply(driver, bob, after=int(bob_prompt["id"]), timeout_s=20)
    await bot_reply(driver, alice, after=int(prompt["id"]), timeout_s=20)
    owner_engine, other_engine = (engines[0], engines[1]) if owner == first else (engines[1], engines[0])
    assert served([owner_engine, other_engine]) == [1, 1], "bob's prompt went to the other host"

    done = await driver.wait_interaction(view["id"], lambda v: len(shown_texts(v)) >= 2, within=15)
    assert "finished its last reply and is drained" in shown_texts(done)[-1]

    text = await command_reply(driver, "admin", "general", "ai-admin undrain", host=str(owner))
    assert "takes new work again" in text
    assert "draining" not in await _status_line(driver, owner)


async def _status_line(driver: Driver, host_id: int) -> str:
    text = await command_reply(driver, "admin", "general", "ai-admin status")
    (line,) = [line for line in text.splitlines() if f"`{host_id}`" in line]
    return line


async def test_reboot_can_target_one_host(stack: Stack, driver: Driver) -> None:
    rebooted: dict[int, int] = {1: 0, 2: 0}

    def recorder(number: int) -> Any:
        async def record() -> None:
            rebooted[number] += 1

        return record

    assert stack.client is not None and stack.client.relay is not None
    stack.client.relay.on_reboot = recorder(1)
    second = stack.hosts[2]
    assert second.relay is not None
    second.relay.on_reboot = recorder(2)

    text = await command_reply(
        driver, "admin", "general", "ai-admin reboot", target="client-bot", host=str(host_bot_id(2))
    )
    assert f"Restarting <@{host_bot_id(2)}> once" in text

    async def second_only() -> bool:
        return rebooted == {1: 0, 2: 1}

    await eventually(second_only)
    await asyncio.sleep(0.5)
    assert rebooted == {1: 0, 2: 1}, "the other host was left alone"


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        pytest.param("ai-admin drain", {"host": "123456789"}, "No GPU host has the id 123456789", id="drain"),
        pytest.param("ai-admin undrain", {"host": "gpu-1"}, "digits only", id="undrain"),
        pytest.param(
            "ai-admin reboot", {"target": "client-bot", "host": "42"}, "`/ai-admin status` lists", id="reboot"
        ),
        pytest.param(
            "ai-admin reboot",
            {"target": "server-bot", "host": "42"},
            "use it with `target: client-bot`",
            id="server-bot-with-host",
        ),
    ],
)
async def test_a_host_id_that_names_no_host_is_refused_clearly(
    stack: Stack, driver: Driver, command: str, options: dict[str, str], expected: str
) -> None:
    text = await command_reply(driver, "admin", "general", command, **options)
    assert expected in text
    assert not any(host.draining for host in stack.server.ctx.hub.hosts())
