"""Slash commands and buttons: discord.py's app command tree and views against devcord."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from devcord import Devcord
from devcord.testing import Driver, DriverError
from tests.devcord.bots import intents, running

pytestmark = pytest.mark.e2e


class Confirm(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Confirm", custom_id="confirm:1", style=discord.ButtonStyle.green)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content=f"confirmed by {interaction.user.name}", view=None)


class CommandBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=intents(), guild_ready_timeout=0.05)

    async def setup_hook(self) -> None:
        tree = self.tree

        @tree.command(name="ping", description="Answer at once")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        @tree.command(name="slow", description="Defer, then follow up")
        async def slow(interaction: discord.Interaction, prompt: str) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)
            await interaction.followup.send(f"answer to {prompt}")

        @tree.command(name="secret", description="Ephemeral reply")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"only for {interaction.user.name}", ephemeral=True)

        @tree.command(name="menu", description="Sends a button")
        async def menu(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("please confirm", view=Confirm())

        admin = app_commands.Group(
            name="ai", description="AI admin", default_permissions=discord.Permissions(manage_guild=True)
        )
        users = app_commands.Group(name="users", description="users", parent=admin)

        @users.command(name="limit", description="Set a limit")
        async def limit(interaction: discord.Interaction, member: discord.Member, per_day: int) -> None:
            perms = interaction.permissions.manage_guild
            await interaction.response.send_message(
                f"{member.name}={per_day} manage_guild={perms}", ephemeral=True
            )

        tree.add_command(admin)
        self.add_view(Confirm())
        await tree.sync()


async def test_command_response_round_trip(devcord: Devcord, driver: Driver) -> None:
    async with running(CommandBot(), "server-bot"):
        started = await driver.command("alice", "general", "ping")
        view = await driver.wait_interaction(started["id"], lambda v: v["original"] is not None)
        assert view["response_type"] == 4
        assert view["original"]["content"] == "pong"
        (stored,) = await driver.messages("general")
        assert stored["content"] == "pong" and stored["interaction_metadata"]["name"] == "ping"


async def test_deferred_command_then_follow_up(devcord: Devcord, driver: Driver) -> None:
    async with running(CommandBot(), "server-bot"):
        started = await driver.command("alice", "general", "slow", prompt="why")
        view = await driver.wait_interaction(
            started["id"], lambda v: bool(v["original"]) and not v["original"]["flags"]
        )
        assert view["response_type"] == 5
        assert view["original"]["content"] == "answer to why"
        assert [m["content"] for m in await driver.messages("general")] == ["answer to why"]


async def test_ephemeral_reply_is_seen_only_by_the_invoker(devcord: Devcord, driver: Driver) -> None:
    async with running(CommandBot(), "server-bot"):
        started = await driver.command("bob", "general", "secret")
        view = await driver.wait_interaction(started["id"], lambda v: v["original"] is not None)
        assert view["original"]["ephemeral"]
        assert view["original"]["content"] == "only for bob"
        assert await driver.messages("general") == []
        assert await driver.user_interactions("alice") == []
        alice_events = await driver.events("alice")
        assert not [e for e in alice_events["events"] if "only for bob" in str(e)]


async def test_button_click_round_trip(devcord: Devcord, driver: Driver) -> None:
    async with running(CommandBot(), "server-bot"):
        started = await driver.command("alice", "general", "menu")
        view = await driver.wait_interaction(started["id"], lambda v: v["original"] is not None)
        message = view["original"]
        assert message["components"][0]["components"][0]["custom_id"] == "confirm:1"
        clicked = await driver.click("bob", "general", message["id"], "confirm:1")
        await driver.wait_interaction(clicked["id"], lambda v: v["response_type"] == 7)
        (stored,) = await driver.messages("general")
        assert stored["content"] == "confirmed by bob"
        assert stored["components"] == []


async def test_admin_subcommand_needs_the_default_permission(devcord: Devcord, driver: Driver) -> None:
    async with running(CommandBot(), "server-bot"):
        with pytest.raises(DriverError) as refused:
            await driver.command("alice", "general", "ai users limit", member="bob", per_day=5)
        assert refused.value.status == 403
        started = await driver.command("admin", "general", "ai users limit", member="bob", per_day=5)
        view = await driver.wait_interaction(started["id"], lambda v: v["original"] is not None)
        assert view["original"]["content"] == "bob=5 manage_guild=True"


async def test_late_response_is_an_unknown_interaction(devcord: Devcord, driver: Driver) -> None:
    devcord.interactions.initial_response_s = 0.0
    async with running(CommandBot(), "server-bot"):
        started = await driver.command("alice", "general", "ping")
        await asyncio.sleep(0.3)
        view = await driver.interaction(started["id"])
        assert view["response_type"] is None


async def test_invoker_feed_carries_the_ephemeral_reply(devcord: Devcord, driver: Driver) -> None:
    async with running(CommandBot(), "server-bot"):
        started = await driver.command("bob", "general", "secret")
        await driver.wait_interaction(started["id"], lambda v: v["original"] is not None)
        updates = [e for e in (await driver.events("bob"))["events"] if e["t"] == "INTERACTION_UPDATE"]
        assert updates[-1]["d"]["original"]["content"] == "only for bob"
