"""devcord's web client: the page at `/` driven in headless Chromium against a real discord.py bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands
from playwright.async_api import Browser, Page, async_playwright, expect

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import intents, running

CHROMIUM = "/usr/bin/chromium"
# Debian's chromium, never a downloaded one; no network side-channels, no sandbox (root in CI).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = "/tmp/devcord-web.png"
STREAM_STEPS = 4


class Again(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Again", custom_id="web:again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_message(f"pressed by {interaction.user.name}", ephemeral=True)


class ChatBot(commands.Bot):
    """Streams an echo of every message (posted, then edited in place) and answers /chat ephemerally."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=intents(), guild_ready_timeout=0.05)

    async def setup_hook(self) -> None:
        chat = app_commands.Group(name="chat", description="Private AI chats")

        @chat.command(name="start", description="Open a private chat channel")
        async def start(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
            channel = await interaction.guild.create_text_channel(
                f"chat-{interaction.user.name}",
                overwrites={
                    interaction.guild.default_role: discord.PermissionOverwrite(view_channel=False),
                    interaction.guild.me: discord.PermissionOverwrite(view_channel=True),
                    interaction.user: discord.PermissionOverwrite(view_channel=True, send_messages=True),
                },
            )
            await interaction.followup.send(f"Your chat is ready in #{channel.name}", ephemeral=True)

        @chat.command(name="settings", description="Change a setting")
        async def settings(interaction: discord.Interaction, temperature: float) -> None:
            await interaction.response.send_message(f"temperature set to {temperature}", ephemeral=True)

        self.tree.add_command(chat)
        self.add_view(Again())
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        text = f"echo: {message.content}"
        reply = await message.channel.send(text[:6])
        for step in range(2, STREAM_STEPS + 1):
            await asyncio.sleep(0.1)
            done = step == STREAM_STEPS
            await reply.edit(content=text[: len(text) * step // STREAM_STEPS], view=Again() if done else None)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def record_bot_texts(page: Page) -> None:
    """Keep every text a bot message showed, so the test can tell a live edit from a final render."""
    await page.evaluate(
        """() => {
          window.botTexts = [];
          new MutationObserver(() => {
            for (const node of document.querySelectorAll("#messages .message:has(.tag) .content")) {
              window.botTexts.push(node.textContent);
            }
          }).observe(document.getElementById("messages"), {childList: true, subtree: true});
        }"""
    )


@pytest.mark.e2e
async def test_person_chats_with_a_bot_in_the_browser(
    devcord: Devcord, driver: Driver, browser: Browser
) -> None:
    async with running(ChatBot(), "server-bot"):
        page = await browser.new_page(viewport={"width": 1100, "height": 700})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(devcord.base_url + "/")

        await page.get_by_label("Acting as").select_option(label="alice")
        channels = page.get_by_role("navigation")
        await expect(channels.get_by_role("button", name="# general")).to_be_visible()
        await expect(channels.get_by_role("button", name="# relay")).to_have_count(0)

        await channels.get_by_role("button", name="# general").click()
        composer = page.get_by_label("Message, or a slash command")
        await record_bot_texts(page)
        await composer.fill("hello <b>devcord</b>")
        await composer.press("Enter")
        final = "echo: hello <b>devcord</b>"
        bot_reply = page.locator("#messages .message", has=page.locator(".tag"))
        await expect(bot_reply.locator(".content")).to_have_text(final)
        await expect(bot_reply).to_have_count(1)
        assert await page.locator("#messages b").count() == 0
        seen = await page.evaluate("window.botTexts")
        assert seen[0] != final and final in seen, seen

        await bot_reply.get_by_role("button", name="Again").click()
        ephemeral = page.get_by_role("region", name="Only you can see these")
        await expect(ephemeral).to_contain_text("pressed by alice")

        await composer.fill("/chat start")
        await composer.press("Enter")
        await expect(channels.get_by_role("button", name="# chat-alice")).to_be_visible()
        await expect(ephemeral).to_contain_text("Your chat is ready in #chat-alice")

        await composer.fill("/chat settings temperature:0.5")
        await composer.press("Enter")
        await expect(ephemeral).to_contain_text("temperature set to 0.5")

        assert [m["content"] for m in await driver.messages("general")] == ["hello <b>devcord</b>", final]
        await page.screenshot(path=SCREENSHOT)
        assert errors == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        pytest.param("/", "text/html", id="page"),
        pytest.param("/web/app.js", "text/javascript", id="script"),
        pytest.param("/web/app.css", "text/css", id="stylesheet"),
    ],
)
async def test_page_and_assets_are_served(devcord: Devcord, path: str, content_type: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(devcord.base_url + path) as response:
        assert response.status == 200
        assert response.content_type == content_type
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/web/index.py", id="unlisted-name"),
        pytest.param("/web/..%2Fwebclient.py", id="escaping-path"),
    ],
)
async def test_only_the_client_files_are_served(devcord: Devcord, path: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(devcord.base_url + path) as response:
        assert response.status == 404


async def test_gateway_still_answers_websocket_upgrades_on_root(devcord: Devcord) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(devcord.gateway_url + "?v=10") as ws:
        hello = await ws.receive_json(timeout=2)
        assert hello["op"] == 10
