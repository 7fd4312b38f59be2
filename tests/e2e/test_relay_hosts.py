"""Several GPU hosts behind one server-bot on devcord: spreading, failover, and hosts that are refused."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack, multi_host_scenario
from shared.relay_wiring import host_key_hex
from tests.e2e.harness import bot_reply, eventually, stack_on, start_chat

pytestmark = pytest.mark.e2e

WORDS = 30
REPLY = " ".join(f"w{index}" for index in range(WORDS))
# A host is out after three silent heartbeat intervals. At 5 posts / 5 s, once the window's early posts
# (a first text, an answer) went out at its start, the relay spreads the rest ~2.4 s apart; three
# intervals must exceed that or a busy live host looks dead.
HEARTBEAT_S = 1.0  # for hosts that answer during the test


@pytest.fixture
def devcord_scenario() -> dict[str, Any]:
    return multi_host_scenario(3, users=3, heartbeat_interval_ms=1000)


def engine(delay_s: float = 0.01) -> FakeEngine:
    return FakeEngine(lambda _: REPLY, token_delay_s=delay_s)


def audit_records(stack: Stack) -> list[dict[str, Any]]:
    path = stack.settings.storage.audit_log_file
    assert path is not None
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def served(engines: list[FakeEngine]) -> list[int]:
    return [len(e.stats().recent) for e in engines]


async def test_requests_spread_over_hosts_by_load(devcord: Devcord, driver: Driver, tmp_path: Path) -> None:
    engines = [engine(0.05), engine(0.05), engine(0.05)]
    async with stack_on(
        devcord, engines[0], tmp_path, heartbeat_interval_s=HEARTBEAT_S, extra_host_engines=engines[1:]
    ) as stack:
        await eventually(lambda: _all_online(stack), timeout=10)
        users = ["alice", "bob", "user-001", "user-002", "user-003", "admin"]
        channels = await asyncio.gather(*(start_chat(driver, user) for user in users))
        prompts = await asyncio.gather(
            *(driver.post(channel, user, "hello") for user, channel in zip(users, channels, strict=True))
        )
        replies = await asyncio.gather(
            *(
                bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=30)
                for channel, prompt in zip(channels, prompts, strict=True)
            )
        )
    assert [reply["content"] for reply in replies] == [REPLY] * len(users)
    assert served(engines) == [2, 2, 2]


async def _all_online(stack: Stack) -> bool:
    return all(host.online for host in stack.server.ctx.hub.hosts())


async def test_a_host_killed_mid_reply_loses_its_request_to_another_that_answers_once(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    engines = [engine(0.1), engine(0.1)]
    async with stack_on(
        devcord, engines[0], tmp_path, heartbeat_interval_s=HEARTBEAT_S, extra_host_engines=engines[1:]
    ) as stack:
        await eventually(lambda: _all_online(stack), timeout=10)
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", "tell me")
        await driver.wait_for_message(
            channel, lambda m: int(m["id"]) > int(prompt["id"]) and m["content"].startswith("w0"), within=10
        )
        hub = stack.server.ctx.hub
        (owner,) = [host.user_id for host in hub.hosts() if host.in_flight]
        killed = time.monotonic()
        first_host = owner == stack.settings.discord.client_bot_user_id
        if first_host:
            await stack.stop_client()
        else:
            await stack.stop_host(2)
        await eventually(lambda: _moved(stack), timeout=10)
        moved_after_s = time.monotonic() - killed
        reply = await bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=20)
        await asyncio.sleep(1.0)  # anything late from the dead host would show by now
        replies = [
            m
            for m in await driver.messages(channel)
            if m["author"].get("bot") and int(m["id"]) > int(prompt["id"]) and m["content"].startswith("w0")
        ]
    assert moved_after_s < 10
    assert reply["content"] == REPLY
    assert len(replies) == 1
    survivor = engines[1] if first_host else engines[0]
    assert served([survivor]) == [1]  # the surviving host answered it once


async def _moved(stack: Stack) -> bool:
    return stack.server.ctx.hub.moves >= 1


async def test_a_host_with_a_wrong_key_is_refused_and_audited(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(
        devcord, engine(), tmp_path, heartbeat_interval_s=0.5, extra_host_engines=[engine()]
    ) as stack:
        # The master key itself is the wrong key for a host once every host has its own.
        host_id = await restart_with_key(stack, stack.settings.relay.payload_encryption_key)
        await eventually(lambda: _refused(stack, "exc:unknown_key"), timeout=10)
        await asyncio.sleep(2.0)  # three heartbeats: the refused host is out
        (row,) = [h for h in stack.server.ctx.hub.hosts() if h.user_id == host_id]
        assert not row.online


async def test_a_host_cannot_post_as_another(devcord: Devcord, driver: Driver, tmp_path: Path) -> None:
    async with stack_on(
        devcord, engine(), tmp_path, heartbeat_interval_s=0.5, extra_host_engines=[engine()]
    ) as stack:
        await stack.stop_host(2)
        discord_settings, relay, _ = stack.host_settings[2]
        victim = stack.settings.discord.client_bot_user_id
        stolen = SecretStr(
            host_key_hex(stack.settings.relay.payload_encryption_key.get_secret_value(), victim)
        )
        stack.host_settings[2] = (
            discord_settings,
            relay.model_copy(update={"payload_encryption_key": stolen}),
            engine(),
        )
        await stack.start_host(2)
        # Host 2 seals under host 1's key, but its posts are opened with host 2's key (by author): refused.
        await eventually(lambda: _refused(stack, "exc:unknown_key"), timeout=10)


async def test_a_removed_host_is_refused_and_audited_and_its_work_goes_elsewhere(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(
        devcord, engine(), tmp_path, heartbeat_interval_s=0.5, extra_host_engines=[engine()]
    ) as stack:
        await eventually(lambda: _all_online(stack), timeout=10)
        removed = stack.host_settings[2][0].client_bot_user_id
        await stack.server.ctx.hub.remove_host(removed)
        await eventually(lambda: _refused(stack, "unknown_host"), timeout=10)
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", "still there?")
        reply = await bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=20)
    assert reply["content"] == REPLY
    assert removed not in [host.user_id for host in stack.server.ctx.hub.hosts()]


async def restart_with_key(stack: Stack, key: SecretStr) -> int:
    """Restart host 2 configured with `key`; returns its user id."""
    await stack.stop_host(2)
    discord_settings, relay, _ = stack.host_settings[2]
    stack.host_settings[2] = (
        discord_settings,
        relay.model_copy(update={"payload_encryption_key": key}),
        engine(),
    )
    await stack.start_host(2)
    return discord_settings.client_bot_user_id


async def _refused(stack: Stack, reason: str) -> bool:
    return any(r.get("event") == "relay_refused" and r.get("detail") == reason for r in audit_records(stack))
