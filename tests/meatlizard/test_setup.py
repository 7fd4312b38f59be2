"""`meatlizard setup` against devcord: creates what is missing, and a second run changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devcord.testing import Driver
from meatlizard.cli import main
from meatlizard.doctor import Status, run_checks
from meatlizard.doctor.discord_api import DiscordApi
from meatlizard.setup import set_up
from shared.config import DiscordSettings, load
from tests.devcord.bots import TOKENS


async def test_setup_creates_what_is_missing_and_a_second_run_changes_nothing(
    deployment: Path, driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_RELAY_CHANNEL", "ai-relay")
    monkeypatch.setenv("DISCORD_ADMIN_ROLE", "Chat Admins")
    settings = load(DiscordSettings)
    async with DiscordApi(settings.api_base, TOKENS["server-bot"]) as api:
        first = await set_up(api, settings)
        state_after_first = await driver.state()
        second = await set_up(api, settings)
    assert first.changes == [
        "created role 'Chat Admins'",
        "created category 'AI Chat Sessions'",
        "created channel 'ai-relay'",
    ]
    assert second.changes == []
    assert second.ids == first.ids
    assert set(first.ids) == {
        "DISCORD_ADMIN_ROLE_ID",
        "DISCORD_SESSIONS_CATEGORY_ID",
        "DISCORD_RELAY_CHANNEL_ID",
    }
    assert (await driver.state())["guilds"] == state_after_first["guilds"]

    # What setup made passes the doctor's checks, found by the ids it printed.
    for variable, value in first.ids.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("DISCORD_RELAY_CHANNEL", "renamed-later")
    checks = {c.name: c for c in await run_checks("both")}
    assert checks["relay channel"].status is Status.OK, checks["relay channel"]
    assert checks["AI Admin role"].status is Status.OK
    relay = [
        c
        for c in (await driver.visible_channels("alice"))
        if c["id"] == first.ids["DISCORD_RELAY_CHANNEL_ID"]
    ]
    assert relay == []


async def test_setup_repairs_a_relay_channel_opened_to_everyone(
    deployment: Path, driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load(DiscordSettings)
    relay = await driver.channel_id("relay")
    async with DiscordApi(settings.api_base, TOKENS["server-bot"]) as api:
        await api.request("DELETE", f"/channels/{relay}/permissions/{settings.guild_id}")
        assert any(c["name"] == "relay" for c in await driver.visible_channels("alice"))
        result = await set_up(api, settings)
    assert f"set the permission overwrite for {settings.guild_id} on 'relay'" in result.changes
    assert not any(c["name"] == "relay" for c in await driver.visible_channels("alice"))


async def test_the_command_prints_the_ids_and_the_steps_left_by_hand(
    deployment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(main, ["setup"]) == 0
    assert await asyncio.to_thread(main, ["setup"]) == 0
    out = capsys.readouterr().out
    assert "nothing to change: the server is set up" in out
    assert "DISCORD_RELAY_CHANNEL_ID=" in out and "DISCORD_ADMIN_ROLE_ID=" in out
    assert "give the 'AI Admin' role to each admin" in out
