"""The doctor agrees with what the product itself builds: all green next to a running stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from meatlizard.doctor import Status, run_checks
from tests.e2e.harness import stack_on


@pytest.mark.e2e
async def test_the_relay_channels_the_server_bot_creates_pass_the_doctor(
    devcord: Devcord, deployment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = deployment / "stack"
    async with stack_on(devcord, FakeEngine(), workdir) as stack:
        monkeypatch.setenv("DISCORD_RELAY_CHANNEL", stack.settings.discord.relay_channel)
        monkeypatch.setenv("DATABASE_URL", stack.settings.storage.database_url)
        checks = await run_checks("both")
        relay_id = stack.relay_channel_id
        further = len(stack.relay_channel_ids) - 1
    failed = {c.name: c.detail for c in checks if c.status is Status.FAIL}
    assert failed == {}
    relay = next(c for c in checks if c.name == "relay channel")
    assert f"id {relay_id}" in relay.detail
    assert further > 0
    assert f"and {further} further relay channels are private" in relay.detail
