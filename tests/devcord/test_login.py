"""Login, READY and the guild cache through the real discord.py client."""

from __future__ import annotations

import discord
import pytest

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import Recorder, intents, running

pytestmark = pytest.mark.e2e


async def test_login_reaches_ready_with_bot_identity(devcord: Devcord) -> None:
    async with running(Recorder(), "server-bot") as bot:
        assert bot.user is not None
        assert bot.user.name == "server-bot"
        assert bot.user.bot
        assert bot.application_id is not None


async def test_guild_cache_has_roles_channels_and_members(devcord: Devcord) -> None:
    async with running(Recorder(intents=intents(members=True)), "server-bot") as bot:
        (guild,) = bot.guilds
        assert guild.name == "MeatLizard"
        assert {"@everyone", "AI Admin", "server-bot"} <= {r.name for r in guild.roles}
        assert {"general", "relay"} <= {c.name for c in guild.text_channels}
        assert [c.name for c in guild.categories] == ["MeatLizard"]
        assert {"alice", "bob", "admin", "server-bot"} <= {m.name for m in guild.members}
        admin = discord.utils.get(guild.members, name="admin")
        assert admin is not None
        assert [r.name for r in admin.roles] == ["@everyone", "AI Admin"]


async def test_without_members_intent_only_the_bot_is_cached(devcord: Devcord) -> None:
    async with running(Recorder(intents=intents(members=False)), "client-bot") as bot:
        (guild,) = bot.guilds
        assert [m.name for m in guild.members] == ["client-bot"]
        assert guild.member_count is not None and guild.member_count > 1


async def test_bad_token_is_a_login_failure(devcord: Devcord) -> None:
    client = Recorder()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-a-token")
    await client.close()


async def test_ungranted_privileged_intent_is_refused(devcord: Devcord) -> None:
    client = Recorder(intents=intents(members=True))
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await client.start("MTMwMDAwMDAwMDAwMDAwMDEwMw.HDdKgA.BtDOTBGtxpmMgcKndKqLMfUUjxgF7UnkBxnf3A")
    await client.close()


async def test_user_message_reaches_the_bot_and_the_bot_replies(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot:
        await driver.post("general", "alice", "hello bot")
        seen = await bot.wait_for_content("hello bot")
        assert seen.author.name == "alice"
        assert isinstance(seen.author, discord.Member)
        reply = await seen.channel.send("hello alice")
        stored = await driver.messages("general")
        assert [m["content"] for m in stored] == ["hello bot", "hello alice"]
        assert stored[-1]["id"] == str(reply.id)
