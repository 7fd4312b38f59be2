"""`/ai-admin` through devcord: every command as the admin, and as a member without the AI Admin role."""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack
from server_bot.exts.admin import Admin
from shared.config import RESTART_EXIT_CODE
from tests.e2e.harness import bot_reply, command_reply, eventually, stack_on, start_chat

pytestmark = pytest.mark.e2e

ADMIN_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("ai-admin status", {}),
    ("ai-admin toggle", {"setting": "requests"}),
    ("ai-admin transfer", {"session": "general", "new_owner": "bob"}),
    ("ai-admin metrics", {"window": "24h"}),
    ("ai-admin backup", {"target": "database"}),
    ("ai-admin reboot", {"target": "server-bot"}),
    ("ai-admin drain", {"host": "1300000000000000202"}),
    ("ai-admin undrain", {"host": "1300000000000000202"}),
    ("ai-admin permissions", {}),
]


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def _chat_once(driver: Driver, user: str, text: str = "hello") -> int:
    channel = await start_chat(driver, user)
    prompt = await driver.post(channel, user, text)
    await bot_reply(driver, channel, after=int(prompt["id"]))
    return channel


def _admin_cog(stack: Stack) -> Any:
    # discord.py loads each extension as its own module object, so `isinstance(cog, Admin)` cannot hold.
    cog = stack.server.get_cog("Admin")
    assert cog is not None and type(cog).__name__ == Admin.__name__
    return cog


async def test_every_admin_command_is_refused_to_a_non_admin_and_audited(
    stack: Stack, driver: Driver
) -> None:
    exits: list[int] = []

    async def record_exit(code: int) -> None:
        exits.append(code)

    _admin_cog(stack).exit = record_exit
    bob = await driver.user_id("bob")
    for command, options in ADMIN_COMMANDS:
        text = await command_reply(driver, "bob", "general", command, **options)
        assert "needs the AI Admin role" in text, command

    repo = stack.server.ctx.repo
    refused = [e for e in await repo.recent_audit_events(user_id=bob) if e.event == "admin_refused"]
    assert sorted(e.command or "" for e in refused) == sorted(c.replace(" ", ".") for c, _ in ADMIN_COMMANDS)
    assert all(not e.success and e.detail == "not_admin" for e in refused)
    assert not await repo.get_toggle("requests_paused"), "the refused toggle changed nothing"
    assert exits == []


async def test_status_reports_the_gpu_host_sessions_and_speed(stack: Stack, driver: Driver) -> None:
    await _chat_once(driver, "alice")
    text = await command_reply(driver, "admin", "general", "ai-admin status")
    assert "GPU hosts: 1 of 1 online" in text
    assert f"`{stack.settings.discord.client_bot_user_id}`: online, model `fake-engine`" in text
    assert "queue 0" in text
    assert "Server-bot: up" in text
    assert "Active sessions: 1, replies in progress: 0" in text
    assert "(1 replies)" in text
    assert "Requests: accepted, fallback: off" in text


async def test_toggle_requests_pauses_new_chats_and_prompts_until_switched_back(
    stack: Stack, driver: Driver
) -> None:
    channel = await start_chat(driver, "alice")
    assert "paused" in await command_reply(driver, "admin", "general", "ai-admin toggle", setting="requests")

    assert "paused by an admin" in await command_reply(driver, "bob", "general", "chat start")
    prompt = await driver.post(channel, "alice", "anyone home?")
    refusal = await driver.wait_for_message(channel, lambda m: int(m["id"]) > int(prompt["id"]), within=5)
    assert "paused by an admin" in refusal["content"]

    assert "accepted" in await command_reply(
        driver, "admin", "general", "ai-admin toggle", setting="requests"
    )
    prompt = await driver.post(channel, "alice", "and now?")
    assert (await bot_reply(driver, channel, after=int(prompt["id"])))["content"] == "You said: and now?"


async def test_toggle_fallback_is_kept_in_the_database(stack: Stack, driver: Driver) -> None:
    text = await command_reply(driver, "admin", "general", "ai-admin toggle", setting="fallback")
    assert "**on**" in text
    assert await stack.server.ctx.repo.get_toggle("fallback_enabled")
    text = await command_reply(driver, "admin", "general", "ai-admin toggle", setting="fallback")
    assert "**off**" in text


async def test_transfer_moves_ownership_and_channel_access(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    view = await driver.command("admin", "general", "ai-admin transfer", session=channel, new_owner="bob")
    done = await driver.wait_interaction(view["id"], lambda v: bool((v.get("original") or {}).get("content")))
    reply = done["original"]
    assert "now belongs to <@" in reply["content"]
    assert reply["mentions"] == [], "the ephemeral follow-up names people without pinging them"

    assert channel in {int(c["id"]) for c in await driver.visible_channels("bob")}
    assert channel not in {int(c["id"]) for c in await driver.visible_channels("alice")}
    session = await stack.server.ctx.repo.get_session_by_channel(channel)
    assert session is not None and session.owner_id == await driver.user_id("bob")
    prompt = await driver.post(channel, "bob", "is this mine now")
    assert (await bot_reply(driver, channel, after=int(prompt["id"])))[
        "content"
    ] == "You said: is this mine now"


async def test_transfer_refuses_a_channel_that_is_no_session(stack: Stack, driver: Driver) -> None:
    text = await command_reply(
        driver, "admin", "general", "ai-admin transfer", session="general", new_owner="bob"
    )
    assert "is not an open chat session" in text


async def test_metrics_reply_carries_a_png_chart_and_the_numbers(stack: Stack, driver: Driver) -> None:
    await _chat_once(driver, "alice", "count me")
    view = await driver.command("admin", "general", "ai-admin metrics", window="24h")
    # The first follow-up of a deferred command replaces its loading message, the "original".
    done = await driver.wait_interaction(
        view["id"], lambda v: bool((v.get("original") or {}).get("content")), within=15
    )
    reply = done["original"]
    assert "Requests: 1" in reply["content"]
    assert "tokens/s" in reply["content"]
    (attachment,) = reply["attachments"]
    assert attachment["filename"] == "metrics-24h.png"
    async with aiohttp.ClientSession() as http, http.get(attachment["url"]) as response:
        assert (await response.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_backup_database_stores_a_restorable_sqlite_dump(
    stack: Stack, driver: Driver, tmp_path: Path
) -> None:
    await _chat_once(driver, "alice")
    text = await command_reply(driver, "admin", "general", "ai-admin backup", target="database")
    assert "gunzip -c" in text
    key = text.split("`")[1]
    restored = tmp_path / "restored.db"
    restored.write_bytes(gzip.decompress(await stack.server.ctx.objects.get(key)))
    with sqlite3.connect(restored) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (2,)


async def test_backup_transcripts_saves_the_missing_ones(stack: Stack, driver: Driver) -> None:
    channel = await _chat_once(driver, "alice")
    repo, objects = stack.server.ctx.repo, stack.server.ctx.objects
    session = await repo.get_session_by_channel(channel)
    assert session is not None
    await repo.end_session(session.id)  # ended without its transcript, as after a crash
    assert await repo.get_transcript(session.id) is None

    text = await command_reply(driver, "admin", "general", "ai-admin backup", target="transcripts")
    assert "1 missing transcripts saved" in text
    transcript = await repo.get_transcript(session.id)
    assert transcript is not None and await objects.exists(transcript.md_key)


async def test_reboot_server_bot_waits_acknowledges_and_exits_for_a_restart(
    stack: Stack, driver: Driver
) -> None:
    exits: list[int] = []

    async def record_exit(code: int) -> None:
        exits.append(code)

    _admin_cog(stack).exit = record_exit
    text = await command_reply(driver, "admin", "general", "ai-admin reboot", target="server-bot")
    assert "restarting now" in text

    async def exited() -> bool:
        return exits == [RESTART_EXIT_CODE]

    await eventually(exited)


async def test_reboot_client_bot_finishes_its_reply_then_exits(stack: Stack, driver: Driver) -> None:
    await stack.stop_client()
    await stack.start_client(FakeEngine(lambda _: "slow " * 30, token_delay_s=0.02))
    assert stack.client is not None and stack.client.relay is not None
    rebooted: list[bool] = []

    async def record_reboot() -> None:
        rebooted.append(True)

    stack.client.relay.on_reboot = record_reboot
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "take your time")
    await driver.wait_for_message(
        channel, lambda m: int(m["id"]) > int(prompt["id"]) and "slow" in m["content"]
    )
    text = await command_reply(driver, "admin", "general", "ai-admin reboot", target="client-bot")
    assert "once their current replies are done" in text

    reply = await bot_reply(driver, channel, after=int(prompt["id"]))
    assert reply["content"].count("slow") == 30

    async def done() -> bool:
        return rebooted == [True]

    await eventually(done)


async def test_permissions_separate_the_bots_grant_from_everyones_defaults(
    stack: Stack, driver: Driver
) -> None:
    text = await command_reply(driver, "admin", "general", "ai-admin permissions")
    assert "Missing (grant them to the bot's role): none" in text
    granted = text.split("Excessive, granted to the bot's roles (remove them there): ")[1].split("\n")[0]
    for name in ("ban_members", "kick_members", "manage_messages"):  # the server-bot role's extras
        assert f"`{name}`" in granted
    # @everyone's defaults are not the bot's grant: counted, never listed as something to remove.
    for name in ("send_messages", "add_reactions", "mention_everyone", "change_nickname"):
        assert f"`{name}`" not in text
    assert "come from the server's default permissions" in text
