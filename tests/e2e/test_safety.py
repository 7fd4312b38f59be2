"""Safety through devcord: bans, every moderation action, the offline fallback, mention neutralising, and
logs and audit records that hold no secret and no conversation text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import CLIENT_BOT_TOKEN, SERVER_BOT_TOKEN, Stack
from server_bot.core import Actor, Banned
from server_bot.exts.chat import PROMPT_BLOCKED, REPLY_WITHHELD
from server_bot.fallback import FALLBACK_LABEL
from tests.e2e.harness import bot_reply, command_reply, eventually, stack_on, start_chat

pytestmark = pytest.mark.e2e

RULES = """
version: 1
rules:
  - {name: no-bananas, words: [banana], action: reject, applies_to: [prompt]}
  - {name: watch-kiwis, words: [kiwi], action: log}
  - {name: mass-ping, pattern: '@(everyone|here)', action: alert, applies_to: [prompt]}
  - {name: no-durians, words: [durian], action: suspend, suspend_for: 1, applies_to: [prompt]}
  - {name: clean-replies, words: [grapefruit], action: reject, applies_to: [reply]}
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "moderation.yaml"
    path.write_text(RULES)
    return path


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path, rules_file: Path) -> AsyncIterator[Stack]:
    async with stack_on(
        devcord, FakeEngine(), tmp_path / "stack", server={"moderation_config": rules_file}
    ) as running:
        yield running


def _after(prompt: dict[str, Any]) -> Any:
    return lambda m: int(m["id"]) > int(prompt["id"]) and m["author"].get("bot", False)


async def _session_id(stack: Stack, channel: int) -> Any:
    session = await stack.server.ctx.repo.get_session_by_channel(channel)
    assert session is not None
    return session.id


# ---- bans ----------------------------------------------------------------------------------------


async def test_banned_user_loses_their_session_and_is_refused(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    repo = stack.server.ctx.repo
    session_id = await _session_id(stack, channel)
    alice = await driver.user_id("alice")

    await driver.ban("MeatLizard", "alice", reason="spam")

    async def channel_removed() -> bool:  # the last step of closing the session
        return channel not in {int(c["id"]) for c in (await driver.state())["guilds"][0]["channels"]}

    await eventually(channel_removed)
    assert not (await repo.get_session(session_id)).is_open
    assert await repo.get_transcript(session_id) is not None
    user = await repo.get_user(alice)
    assert user is not None and user.banned
    # Discord keeps a banned user out of the guild; should one reach the bot anyway, it refuses them.
    for scope in ("command", "prompt"):
        with pytest.raises(Banned, match="banned"):
            await stack.server.ctx.core.access.check(Actor(alice, "discord"), scope)


# ---- moderation ----------------------------------------------------------------------------------


async def test_rejected_prompt_is_not_relayed_and_the_user_is_told(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "I would like a BANANA split please")
    told = await driver.wait_for_message(channel, _after(prompt))
    assert told["content"] == PROMPT_BLOCKED
    await asyncio.sleep(0.3)
    assert not [m for m in await driver.messages(channel) if "You said" in m["content"]]

    repo = stack.server.ctx.repo
    session_id = await _session_id(stack, channel)
    assert await repo.history(session_id) == []
    (violation,) = await repo.violations_for_user(await driver.user_id("alice"))
    assert (violation.rule, violation.action, violation.excerpt) == ("no-bananas", "reject", "BANANA")


async def test_logged_prompt_is_answered_and_recorded(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "a kiwi is a fruit")
    assert (await bot_reply(driver, channel, after=int(prompt["id"])))[
        "content"
    ] == "You said: a kiwi is a fruit"
    violations = await stack.server.ctx.repo.violations_for_user(await driver.user_id("alice"))
    # The prompt matched; the reply echoed it and matched again. Each stores the excerpt alone.
    assert [(v.rule, v.action, v.excerpt) for v in violations] == [("watch-kiwis", "log", "kiwi")] * 2


async def test_alert_reaches_only_admins_neutralised_and_pinging_nobody(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "hey @everyone look at this")
    await bot_reply(driver, channel, after=int(prompt["id"]))

    admin_channel = await driver.channel_id("ai-admin")
    alert = await driver.wait_for_message(admin_channel, lambda m: "Moderation alert" in m["content"])
    assert "mass-ping" in alert["content"]
    assert "＠everyone" in alert["content"] and "@everyone" not in alert["content"]
    assert "look at this" not in alert["content"], "only the matched excerpt is shown"
    assert alert["mention_everyone"] is False and alert["mentions"] == []
    assert admin_channel in {int(c["id"]) for c in await driver.visible_channels("admin")}
    for user in ("alice", "bob"):
        assert admin_channel not in {int(c["id"]) for c in await driver.visible_channels(user)}


async def test_suspension_refuses_prompts_until_it_lapses(stack: Stack, driver: Driver) -> None:
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", "durian smoothie")
    told = await driver.wait_for_message(channel, _after(prompt))
    assert PROMPT_BLOCKED in told["content"] and "suspended" in told["content"]

    prompt = await driver.post(channel, "alice", "just hello")
    refused = await driver.wait_for_message(channel, _after(prompt))
    assert "suspended" in refused["content"]

    user = await stack.server.ctx.repo.get_user(await driver.user_id("alice"))
    assert user is not None and user.suspended_until is not None
    await asyncio.sleep(1.1)  # the rule suspends for one second
    prompt = await driver.post(channel, "alice", "hello again")
    assert (await bot_reply(driver, channel, after=int(prompt["id"])))["content"] == "You said: hello again"


async def test_blocked_reply_is_withheld_and_never_shown(
    devcord: Devcord, driver: Driver, tmp_path: Path, rules_file: Path
) -> None:
    engine = FakeEngine(lambda _: "well " * 20 + "grapefruit is the answer", token_delay_s=0.01)
    async with stack_on(devcord, engine, tmp_path, server={"moderation_config": rules_file}) as stack:
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", "what fruit")
        # No Regenerate on it: nothing was stored that a button could name.
        reply = await bot_reply(
            driver, channel, after=int(prompt["id"]), done=lambda m: m["content"] == REPLY_WITHHELD
        )
        assert not reply.get("components")
        shown = [
            version.get("content", "")
            for message in await driver.messages(channel, include_deleted=True)
            for version in [message, *message.get("history", [])]
        ]
        assert not [text for text in shown if "grapefruit" in text]
        turns = await stack.server.ctx.repo.history(await _session_id(stack, channel))
        assert [role.value for role, _ in turns] == ["user"], "the withheld reply is not kept"


# ---- fallback and mentions -------------------------------------------------------------------------


async def test_fallback_answers_while_the_host_is_offline(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(devcord, FakeEngine(), tmp_path, heartbeat_interval_s=0.2) as stack:
        assert "**on**" in await command_reply(
            driver, "admin", "general", "ai-admin toggle", setting="fallback"
        )
        channel = await start_chat(driver, "alice")
        await stack.stop_client()

        async def offline() -> bool:
            return not stack.server.ctx.hub.client_online()

        await eventually(offline)
        prompt = await driver.post(channel, "alice", "tell me about liberty")
        reply = await driver.wait_for_message(channel, _after(prompt))
        assert reply["content"].startswith(FALLBACK_LABEL)
        assert "offline" not in reply["content"].removeprefix(FALLBACK_LABEL)


async def test_model_reply_mass_mention_is_neutralised_and_pings_nobody(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    # Give the server-bot the right to ping everyone: only the bot's own safeguards stop it now.
    role = await driver.create_role("MeatLizard", "pinger", ["MENTION_EVERYONE"])
    await driver.add_role("MeatLizard", "server-bot", role["id"])
    alice = await driver.user_id("alice")
    engine = FakeEngine(lambda _: f"hello @everyone and @here, also <@{alice}>")
    async with stack_on(devcord, engine, tmp_path):
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", "ping them")
        reply = await bot_reply(driver, channel, after=int(prompt["id"]))
    assert reply["content"] == f"hello ＠everyone and ＠here, also <@{alice}>"
    assert reply["mention_everyone"] is False
    assert reply["mentions"] == [], "allowed_mentions let no user mention through"


# ---- nothing secret in logs or audit records -------------------------------------------------------

CONVERSATION = "my secret plan involves seventeen purple elephants"


async def test_logs_and_audit_records_hold_no_secrets_or_conversation_text(
    devcord: Devcord, driver: Driver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The production policy (shared.log.configure_logging): discord.py's own chatter stays at WARNING.
    # (In this order: set_level also sets the capturing handler's level, which must end at DEBUG.)
    caplog.set_level(logging.WARNING, logger="discord")
    caplog.set_level(logging.DEBUG)
    async with stack_on(devcord, FakeEngine(), tmp_path) as stack:
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", CONVERSATION)
        await bot_reply(driver, channel, after=int(prompt["id"]))
        await command_reply(driver, "alice", channel, "chat end")
        repo = stack.server.ctx.repo

        async def end_audited() -> bool:  # a command is audited once it has answered
            return any(e.command == "chat.end" for e in await repo.recent_audit_events(limit=5))

        await eventually(end_audited)
        events = await repo.recent_audit_events(limit=1000)
        settings = stack.settings
    audit_file = settings.storage.audit_log_file.read_text()

    needles = [
        SERVER_BOT_TOKEN,
        CLIENT_BOT_TOKEN,
        settings.relay.payload_encryption_key.get_secret_value(),
        settings.storage.storage_encryption_key.get_secret_value(),
        CONVERSATION,
        *CONVERSATION.split()[2:],
    ]
    # Everything the product's process logged, its libraries included; devcord plays Discord itself.
    records = [r for r in caplog.records if not r.name.startswith("devcord")]
    assert {r.name.split(".")[0] for r in records} >= {"server_bot", "client_bot", "shared"}
    lines = [caplog.handler.format(r) for r in records]
    audit_rows = [repr(event) for event in events]
    for needle in needles:
        assert not [line for line in lines if needle in line], needle
        assert needle not in audit_file
        assert not [row for row in audit_rows if needle in row]
    commands = {(e.command, e.success) for e in events if e.event == "command"}
    assert {("chat.start", True), ("chat.end", True)} <= commands
    assert all(e.latency_ms is not None for e in events if e.event == "command")
