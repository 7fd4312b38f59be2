"""Channel obfuscation ("Permissions > Channel Visibility"; change log "Channel Obfuscation for Users and
Bots"): the Gateway dispatches every channel, hiding the ones a bot cannot view; REST omits them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import discord
import pytest

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import TOKENS, Recorder, intents, running

pytestmark = pytest.mark.e2e

HIDDEN = "___hidden___"
CHANNEL_OBFUSCATED = 1 << 17


async def _eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.01)


async def _rest_channel_names(devcord: Devcord, bot: str) -> list[str]:
    guild_id = next(iter(devcord.world.guilds))
    headers = {"Authorization": f"Bot {TOKENS[bot]}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{devcord.api_base}/guilds/{guild_id}/channels", headers=headers) as resp,
    ):
        return [c["name"] for c in await resp.json()]


async def test_guild_create_sends_hidden_channels_obfuscated(devcord: Devcord, driver: Driver) -> None:
    relay_id = await driver.channel_id("relay")
    async with running(Recorder(), "rogue-bot") as rogue, running(Recorder(), "client-bot") as client:
        hidden = rogue.get_channel(relay_id)
        assert isinstance(hidden, discord.TextChannel)
        assert hidden.name == HIDDEN and hidden.topic is None and hidden.last_message_id is None
        # discord.py keeps no flags on text channels; the payload devcord sends carries them.
        sent = devcord.world.channel_view(devcord.world.channels[relay_id], rogue.user.id)  # type: ignore[union-attr]
        assert sent["flags"] == CHANNEL_OBFUSCATED
        everyone = hidden.guild.default_role
        assert list(hidden.overwrites) == [everyone]
        assert hidden.overwrites[everyone].pair()[1].view_channel
        real = client.get_channel(relay_id)
        assert isinstance(real, discord.TextChannel) and real.name == "relay"
    assert "relay" not in await _rest_channel_names(devcord, "rogue-bot")
    assert HIDDEN not in await _rest_channel_names(devcord, "rogue-bot")
    assert "relay" in await _rest_channel_names(devcord, "client-bot")


async def test_gaining_access_sends_the_full_channel_and_losing_it_hides_it(
    devcord: Devcord, driver: Driver
) -> None:
    relay_id = await driver.channel_id("relay")
    async with (
        running(Recorder(intents=intents(members=True)), "server-bot") as admin,
        running(Recorder(), "rogue-bot") as rogue,
    ):
        relay = admin.get_channel(relay_id)
        assert isinstance(relay, discord.TextChannel)
        rogue_member = relay.guild.get_member(rogue.user.id)  # type: ignore[union-attr]
        assert rogue_member is not None
        await relay.set_permissions(rogue_member, view_channel=True)
        await _eventually(lambda: getattr(rogue.get_channel(relay_id), "name", None) == "relay")
        seen = rogue.get_channel(relay_id)
        assert isinstance(seen, discord.TextChannel) and seen.topic is not None
        assert seen.overwrites.get(seen.guild.default_role) is not None and len(seen.overwrites) > 1
        await relay.set_permissions(rogue_member, overwrite=None)
        await _eventually(lambda: getattr(rogue.get_channel(relay_id), "name", None) == HIDDEN)


async def test_new_hidden_channel_arrives_obfuscated(devcord: Devcord) -> None:
    async with (
        running(Recorder(intents=intents(members=True)), "server-bot") as admin,
        running(Recorder(), "rogue-bot") as rogue,
    ):
        guild = admin.guilds[0]
        assert guild.me is not None
        overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
            guild.default_role: discord.PermissionOverwrite(view_channel=False),
            guild.me: discord.PermissionOverwrite(view_channel=True),
        }
        secret = await guild.create_text_channel("secret-room", topic="t", overwrites=overwrites)
        await _eventually(lambda: rogue.get_channel(secret.id) is not None)
        assert getattr(rogue.get_channel(secret.id), "name", None) == HIDDEN


async def test_category_is_visible_when_any_child_is(devcord: Devcord) -> None:
    async with (
        running(Recorder(intents=intents(members=True)), "server-bot") as admin,
        running(Recorder(), "rogue-bot") as rogue,
    ):
        guild = admin.guilds[0]
        assert guild.me is not None
        rogue_member = guild.get_member(rogue.user.id)  # type: ignore[union-attr]
        assert rogue_member is not None
        closed: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
            guild.default_role: discord.PermissionOverwrite(view_channel=False),
            guild.me: discord.PermissionOverwrite(view_channel=True),
        }
        category = await guild.create_category("Sessions", overwrites=closed)
        await _eventually(lambda: getattr(rogue.get_channel(category.id), "name", None) == HIDDEN)
        assert "Sessions" not in await _rest_channel_names(devcord, "rogue-bot")
        child = await guild.create_text_channel(
            "rogue-room",
            category=category,
            overwrites=closed | {rogue_member: discord.PermissionOverwrite(view_channel=True)},
        )
        await _eventually(lambda: getattr(rogue.get_channel(category.id), "name", None) == "Sessions")
        assert getattr(rogue.get_channel(child.id), "name", None) == "rogue-room"
        assert "Sessions" in await _rest_channel_names(devcord, "rogue-bot")
        await child.delete()
        await _eventually(lambda: getattr(rogue.get_channel(category.id), "name", None) == HIDDEN)


async def test_a_bot_without_access_to_its_own_category_finds_it_hidden_after_a_restart(
    devcord: Devcord,
) -> None:
    """The trap for a product that finds its category by name: created without an overwrite for the bot
    itself, the category is `___hidden___` in the next GUILD_CREATE the bot receives."""
    async with running(Recorder(intents=intents(members=True)), "server-bot") as first:
        guild = first.guilds[0]
        category = await guild.create_category(
            "Sessions", overwrites={guild.default_role: discord.PermissionOverwrite(view_channel=False)}
        )
        assert category.name == "Sessions"  # the REST answer to the creator is complete
    async with running(Recorder(intents=intents(members=True)), "server-bot") as restarted:
        guild = restarted.guilds[0]
        assert discord.utils.get(guild.categories, name="Sessions") is None
        assert getattr(restarted.get_channel(category.id), "name", None) == HIDDEN


async def test_a_role_that_grants_sight_sends_the_full_channel(devcord: Devcord, driver: Driver) -> None:
    """Visibility follows roles too: giving the rogue bot a role the relay allows reveals the channel,
    taking it away hides it again."""
    relay_id = await driver.channel_id("relay")
    async with running(Recorder(), "rogue-bot") as rogue:
        await driver.add_role("MeatLizard", "rogue-bot", "client-bot")
        await _eventually(lambda: getattr(rogue.get_channel(relay_id), "name", None) == "relay")
        await driver.remove_role("MeatLizard", "rogue-bot", "client-bot")
        await _eventually(lambda: getattr(rogue.get_channel(relay_id), "name", None) == HIDDEN)
