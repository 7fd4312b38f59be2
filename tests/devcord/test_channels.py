"""Private channels, permission overwrites and who sees which events."""

from __future__ import annotations

import asyncio

import discord
import pytest

from devcord import Devcord
from devcord.testing import Driver, DriverError
from tests.devcord.bots import Recorder, intents, running

pytestmark = pytest.mark.e2e


async def test_private_channel_with_overwrites_is_visible_only_to_granted(
    devcord: Devcord, driver: Driver
) -> None:
    async with running(Recorder(intents=intents(members=True)), "server-bot") as bot:
        (guild,) = bot.guilds
        alice = discord.utils.get(guild.members, name="alice")
        assert alice is not None and guild.me is not None
        overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
            guild.default_role: discord.PermissionOverwrite(view_channel=False),
            alice: discord.PermissionOverwrite(view_channel=True, send_messages=True),
            guild.me: discord.PermissionOverwrite(view_channel=True, send_messages=True),
        }
        channel = await guild.create_text_channel("alice-private", overwrites=overwrites)
        assert channel.permissions_for(guild.me).view_channel
        visible_to = {
            name: [c["name"] for c in await driver.visible_channels(name)] for name in ("alice", "bob")
        }
        assert "alice-private" in visible_to["alice"]
        assert "alice-private" not in visible_to["bob"]
        with pytest.raises(DriverError) as denied:
            await driver.post("alice-private", "bob", "let me in")
        assert denied.value.status == 403
        assert denied.value.code == 50001


async def test_granting_a_permission_the_bot_lacks_is_refused(devcord: Devcord) -> None:
    async with running(Recorder(intents=intents(members=True)), "server-bot") as bot:
        (guild,) = bot.guilds
        overwrites = {guild.default_role: discord.PermissionOverwrite(administrator=True)}
        with pytest.raises(discord.Forbidden) as refused:
            await guild.create_text_channel("sneaky", overwrites=overwrites)  # type: ignore[arg-type]
        assert refused.value.code == 50013


async def test_bot_without_manage_channels_cannot_create_channels(devcord: Devcord) -> None:
    async with running(Recorder(), "client-bot") as bot:
        with pytest.raises(discord.Forbidden) as refused:
            await bot.guilds[0].create_text_channel("nope")
        assert refused.value.code == 50013


async def test_bot_that_cannot_view_a_channel_gets_none_of_its_events(
    devcord: Devcord, driver: Driver
) -> None:
    async with running(Recorder(), "rogue-bot") as rogue, running(Recorder(), "client-bot") as client:
        await driver.post("general", "alice", "public")
        await client.wait_for_content("public")
        relay_id = await driver.channel_id("relay")
        await client.get_channel(relay_id).send("secret envelope")  # type: ignore[union-attr]
        await rogue.wait_for_content("public")
        await asyncio.sleep(0.2)
        assert [m.content for m in rogue.seen] == ["public"]
        # The channel itself is known, obfuscated ("Channel Visibility"): no name, no topic.
        hidden = rogue.get_channel(relay_id)
        assert isinstance(hidden, discord.TextChannel)
        assert hidden.name == "___hidden___" and hidden.topic is None
        with pytest.raises(discord.Forbidden) as denied:
            await rogue.http.send_message(relay_id, params=_text("hi"))
        assert denied.value.code == 50001


async def test_message_edit_reaches_viewers_as_an_update(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot, running(Recorder(), "client-bot") as watcher:
        general = next(c for c in bot.get_all_channels() if c.name == "general")
        assert isinstance(general, discord.TextChannel)
        sent = await general.send("draft")
        for text in ("draft more", "final answer"):
            await sent.edit(content=text)
        async with asyncio.timeout(5):
            while len(watcher.raw_edits) < 2:
                await asyncio.sleep(0.01)
        assert [e.data["content"] for e in watcher.raw_edits] == ["draft more", "final answer"]
        (stored,) = await driver.messages("general")
        assert [h["content"] for h in stored["history"]] == ["draft", "draft more"]
        assert stored["content"] == "final answer" and stored["edited_timestamp"]


async def test_same_nonce_returns_the_original_message(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot:
        channel_id = await driver.channel_id("general")
        first = await bot.http.send_message(channel_id, params=_text("once", nonce="n-1"))
        again = await bot.http.send_message(channel_id, params=_text("twice", nonce="n-1"))
        assert again["id"] == first["id"]
        assert again["content"] == "once"
        assert [m["content"] for m in await driver.messages("general")] == ["once"]


async def test_message_content_intent_is_honoured(devcord: Devcord, driver: Driver) -> None:
    without = Recorder(intents=intents(message_content=False))
    async with running(without, "client-bot"), running(Recorder(), "server-bot") as bot:
        assert bot.user is not None and without.user is not None
        await driver.post("general", "alice", "plain words")
        await driver.post("general", "alice", f"<@{without.user.id}> you there?")
        await bot.wait_for_content("plain words")
        async with asyncio.timeout(5):
            while len(without.seen) < 2:
                await asyncio.sleep(0.01)
        assert [m.content for m in without.seen] == ["", f"<@{without.user.id}> you there?"]


def _text(content: str, nonce: str | None = None) -> discord.http.MultipartParameters:
    payload: dict[str, object] = {"content": content}
    if nonce is not None:
        payload.update(nonce=nonce, enforce_nonce=True)
    return discord.http.MultipartParameters(payload=payload, multipart=None, files=None)
