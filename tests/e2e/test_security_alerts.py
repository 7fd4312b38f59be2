"""Security alerts reach the admin channel on devcord, once per burst: a flood cannot spam the admins."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack, multi_host_scenario
from tests.e2e.harness import command_reply, eventually, stack_on

pytestmark = pytest.mark.e2e


@pytest.fixture
def devcord_scenario() -> dict[str, Any]:
    return multi_host_scenario(2, users=2, heartbeat_interval_ms=300)


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def _alerts(driver: Driver, title: str) -> list[str]:
    admin_channel = await driver.channel_id("ai-admin")
    return [m["content"] for m in await driver.messages(admin_channel) if title in m["content"]]


async def test_a_burst_of_admin_refusals_gives_one_alert_in_the_admin_channel(
    stack: Stack, driver: Driver
) -> None:
    for _ in range(11):  # two thresholds' worth (5 each) and one over
        text = await command_reply(driver, "bob", "general", "ai-admin status")
        assert "needs the AI Admin role" in text

    async def one_alert() -> bool:
        return len(await _alerts(driver, "Repeated authorisation failures")) >= 1

    await eventually(one_alert, timeout=10)
    await asyncio.sleep(0.5)  # a second alert, if the limit failed, would have landed by now
    (alert,) = await _alerts(driver, "Repeated authorisation failures")
    assert f"user {await driver.user_id('bob')}" in alert
    admin_channel = await driver.channel_id("ai-admin")
    (message,) = [m for m in await driver.messages(admin_channel) if m["content"] == alert]
    assert message["mention_everyone"] is False and message["mentions"] == []


async def test_the_server_bot_summarises_suppressed_alerts_in_the_background(stack: Stack) -> None:
    assert stack.server.alerts.flushing


async def test_a_burst_of_refused_relay_envelopes_gives_one_alert(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(
        devcord, FakeEngine(), tmp_path / "hosts", heartbeat_interval_s=0.3, extra_host_engines=[FakeEngine()]
    ) as stack:
        removed = stack.host_settings[2][0].client_bot_user_id
        await eventually(lambda: _host_online(stack, removed), timeout=10)
        # The removed host keeps sending heartbeats: each one is an envelope the hub refuses and audits.
        await stack.server.ctx.hub.remove_host(removed)
        await eventually(lambda: _refusals(stack, removed, at_least=5), timeout=15)

        async def one_alert() -> bool:
            return len(await _alerts(driver, "Relay envelope refused")) >= 1

        await eventually(one_alert, timeout=10)
        await asyncio.sleep(0.5)
        (alert,) = await _alerts(driver, "Relay envelope refused")
    assert f"user {removed}" in alert and "unknown_host" in alert


async def _host_online(stack: Stack, user_id: int) -> bool:
    return any(h.user_id == user_id and h.online for h in stack.server.ctx.hub.hosts())


async def _refusals(stack: Stack, user_id: int, *, at_least: int) -> bool:
    path = stack.settings.storage.audit_log_file
    assert path is not None
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    refused = [r for r in records if r.get("event") == "relay_refused" and r.get("user_id") == user_id]
    return len(refused) >= at_least
