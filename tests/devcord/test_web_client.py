"""devcord's web client: the page at `/` driven in headless Chromium against a real discord.py bot."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from pathlib import Path
from typing import Any, Literal

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands
from playwright.async_api import Browser, Page, expect

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import intents, running

# Kept after the run (gitignored) for a person to look at.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
STREAM_STEPS = 4
HOSTILE = '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 1">'
MARKDOWN_SAMPLE = (
    "**bold** and *italic* and `inline <b>code</b>` — see [the docs](https://example.org/docs) "
    "or [this](javascript:window.pwned=1) or https://example.com/a?b=1.\n"
    "> quoted **line**\n"
    "```py\nprint('<not html>')\n```\n"
    "*(stopped)*\n"
)


def screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")


def tiny_png(width: int = 64, height: int = 32) -> bytes:
    """A real PNG (a horizontal gradient), so the browser has something to decode."""
    row = b"\x00" + b"".join(bytes((x * 4 % 256, 80, 200)) for x in range(width))
    rows = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


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

        @chat.command(name="end", description="Close your chat channel")
        async def end(interaction: discord.Interaction) -> None:
            assert isinstance(interaction.channel, discord.TextChannel)
            await interaction.response.send_message("Closing this chat.", ephemeral=True)
            await interaction.channel.delete()

        @chat.command(name="settings", description="Change a setting")
        @app_commands.describe(temperature="Sampling temperature", mode="How to answer")
        async def settings(
            interaction: discord.Interaction,
            temperature: app_commands.Range[float, 0.0, 2.0],
            mode: Literal["fast", "careful"] = "fast",
        ) -> None:
            await interaction.response.send_message(
                f"temperature set to {temperature} ({mode})", ephemeral=True
            )

        self.tree.add_command(chat)
        self.add_view(Again())
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.content == "show markdown":
            await self.show_markdown(message)
            return
        if message.content == "show files":
            await message.channel.send(
                "Here is the chart and the log:",
                files=[
                    discord.File(io.BytesIO(tiny_png()), "chart.png"),
                    discord.File(io.BytesIO(b"line one\n"), "session.log"),
                ],
            )
            return
        text = f"echo: {message.content}"
        reply = await message.channel.send(text[:6])
        for step in range(2, STREAM_STEPS + 1):
            await asyncio.sleep(0.1)
            done = step == STREAM_STEPS
            await reply.edit(content=text[: len(text) * step // STREAM_STEPS], view=Again() if done else None)

    async def show_markdown(self, message: discord.Message) -> None:
        assert message.guild is not None and isinstance(message.channel, discord.TextChannel)
        role = discord.utils.get(message.guild.roles, name="AI Admin")
        assert role is not None
        mentions = f"hi {message.author.mention}, ask {role.mention} in {message.channel.mention}"
        await message.channel.send(
            MARKDOWN_SAMPLE + mentions + "\n" + HOSTILE, allowed_mentions=discord.AllowedMentions.none()
        )


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
        await page.screenshot(path=screenshot_path("chat-with-a-bot"))
        assert errors == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        pytest.param("/", "text/html", id="page"),
        pytest.param("/web/app.js", "text/javascript", id="script"),
        pytest.param("/web/markdown.js", "text/javascript", id="markdown"),
        pytest.param("/web/commands.js", "text/javascript", id="commands"),
        pytest.param("/web/composer.js", "text/javascript", id="composer"),
        pytest.param("/web/ephemeral.js", "text/javascript", id="ephemeral"),
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


async def open_general(devcord: Devcord, browser: Browser, *, width: int = 1100, height: int = 700) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await page.goto(devcord.base_url + "/")
    await page.get_by_label("Acting as").select_option(label="alice")
    await page.get_by_role("navigation").get_by_role("button", name="# general").click()
    await expect(page.get_by_label("Message, or a slash command")).to_be_focused()
    return page


async def send(page: Page, text: str) -> None:
    composer = page.get_by_label("Message, or a slash command")
    await composer.fill(text)
    await composer.press("Enter")


@pytest.mark.e2e
async def test_markdown_is_rendered_from_text_and_markup_in_it_stays_text(
    devcord: Devcord, browser: Browser
) -> None:
    async with running(ChatBot(), "server-bot"):
        page = await open_general(devcord, browser)
        await send(page, "show markdown")
        reply = page.locator("#messages .message", has=page.locator(".tag")).locator(".content")
        await expect(reply).to_contain_text("hi @alice, ask @AI Admin in #general")

        await expect(reply.locator("strong").first).to_have_text("bold")
        await expect(reply.locator("em", has_text="italic")).to_have_count(1)
        await expect(reply.locator("em", has_text="(stopped)")).to_have_count(1)
        await expect(reply.locator("code").first).to_have_text("inline <b>code</b>")
        await expect(reply.locator("pre code")).to_have_text("print('<not html>')")
        await expect(reply.locator("blockquote")).to_have_text("quoted line")
        await expect(reply.locator("blockquote strong")).to_have_text("line")
        links = reply.locator("a")
        assert await links.evaluate_all("ls => ls.map(l => l.href)") == [
            "https://example.org/docs",
            "https://example.com/a?b=1",
        ]
        # The javascript: link and the hostile markup are shown as the characters they are.
        await expect(reply).to_contain_text("[this](javascript:window.pwned=1)")
        await expect(reply).to_contain_text(HOSTILE)
        assert await page.locator("#messages script, #messages img, #messages b").count() == 0
        assert await page.evaluate("window.pwned") is None
        await page.screenshot(path=screenshot_path("markdown"))

        # A channel mention is a way to go there.
        await reply.get_by_role("button", name="#general").click()
        await expect(page.locator("#channel-title")).to_have_text("# general")


@pytest.mark.e2e
async def test_images_show_inline_and_other_files_are_downloads(devcord: Devcord, browser: Browser) -> None:
    async with running(ChatBot(), "server-bot"):
        page = await open_general(devcord, browser)
        await send(page, "show files")
        image = page.get_by_role("img", name="chart.png")
        await expect(image).to_be_visible()
        assert await image.evaluate("img => img.complete && img.naturalWidth") == 64
        download = page.locator("a.attachment[download]")
        await expect(download).to_have_text("📎 session.log (9 B)")
        assert await download.get_attribute("download") == "session.log"
        await page.screenshot(path=screenshot_path("attachments"))


@pytest.mark.e2e
async def test_composer_suggests_commands_and_shows_option_errors_before_sending(
    devcord: Devcord, driver: Driver, browser: Browser
) -> None:
    async with running(ChatBot(), "server-bot"):
        page = await open_general(devcord, browser)
        composer = page.get_by_label("Message, or a slash command")
        suggestions = page.get_by_role("listbox", name="Command suggestions")

        await composer.press_sequentially("/ch")
        await expect(suggestions.get_by_role("option")).to_have_count(1)
        await expect(suggestions).to_contain_text("/chat")
        await composer.press("Tab")
        await expect(composer).to_have_value("/chat ")
        await expect(suggestions).to_contain_text("/chat start")
        await expect(suggestions).to_contain_text("/chat settings")
        await composer.press("ArrowDown")
        await expect(suggestions.get_by_role("option", selected=True)).to_contain_text("/chat end")
        await composer.press("Escape")
        await expect(suggestions).to_be_hidden()
        await composer.press_sequentially("se")
        await composer.press("Tab")
        await expect(composer).to_have_value("/chat settings ")
        await expect(suggestions).to_contain_text("temperature:")
        await expect(suggestions).to_contain_text("required number — Sampling temperature")
        await composer.press_sequentially("temperature:1 mode:")
        await expect(suggestions).to_contain_text("mode: careful")
        await page.screenshot(path=screenshot_path("command-suggestions"))

        status = page.locator("#status")
        cases = {
            "/chta start": "There is no command “/chta”. Did you mean “chat”?",
            "/chat": "/chat needs a subcommand: start, end, settings.",
            "/chat settings": "/chat settings needs temperature (Sampling temperature).",
            "/chat settings temperature:warm": "temperature: “warm” is not a number.",
            "/chat settings temperature:5": "temperature: must be 2 or less.",
            "/chat settings temperature:1 mode:slow": "mode: choose one of fast, careful.",
            "/chat settings temperature:1 colour:red": "/chat settings has no option “colour”.",
        }
        for typed, error in cases.items():
            await send(page, typed)
            await expect(status).to_contain_text(error)
            await expect(status).to_have_class("error")
        await page.screenshot(path=screenshot_path("command-error"))
        assert await driver.user_interactions("alice") == []

        await send(page, "/chat settings temperature:1.5 mode:careful")
        await expect(page.locator("#ephemeral")).to_contain_text("temperature set to 1.5 (careful)")


async def test_discords_form_errors_are_shown_as_readable_lines(devcord: Devcord, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(devcord.base_url + "/")
    body = {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {
            "options": {"0": {"value": {"_errors": [{"code": "X", "message": "Must be 2 or less."}]}}}
        },
    }
    text = await page.evaluate("body => slashCommands.readableApiError(body)", body)
    assert text == "options.0.value: Must be 2 or less."


def at_bottom(page: Page) -> Any:
    return page.evaluate(
        "() => { const l = document.getElementById('messages'); "
        "return l.scrollHeight - l.scrollTop - l.clientHeight < 40; }"
    )


@pytest.mark.e2e
async def test_view_follows_new_messages_and_counts_them_while_scrolled_up(
    devcord: Devcord, driver: Driver, browser: Browser
) -> None:
    page = await open_general(devcord, browser, height=500)
    for n in range(30):
        await driver.post("general", "bob", f"message {n}")
    last = page.locator("#messages .message").last
    await expect(last).to_contain_text("message 29")
    await expect(last).to_be_in_viewport()
    assert await at_bottom(page)

    await page.locator("#messages").evaluate("l => { l.scrollTop = 0; }")
    # The page learns of a scroll on the next frame; a person's wheel is never faster than that.
    await page.wait_for_function("() => !view.following")
    await driver.post("general", "bob", "while you were reading")
    await driver.post("general", "bob", "and another")
    marker = page.get_by_role("button", name="2 new messages")
    await expect(marker).to_be_visible()
    await expect(page.locator("#messages .message").last).not_to_be_in_viewport()
    await page.screenshot(path=screenshot_path("new-messages-marker"))

    await marker.click()
    await expect(page.locator("#messages .message").last).to_be_in_viewport()
    await expect(marker).to_be_hidden()


@pytest.mark.e2e
async def test_only_you_panel_is_dismissable_and_never_hides_the_newest_item(
    devcord: Devcord, driver: Driver, browser: Browser
) -> None:
    async with running(ChatBot(), "server-bot"):
        page = await open_general(devcord, browser, height=520)
        for n in range(8):
            await driver.post("general", "bob", f"chatter {n}")
        panel = page.get_by_role("region", name="Only you can see these")
        for value in ("0.1", "0.2", "0.3", "0.4", "0.5", "0.6"):
            await send(page, f"/chat settings temperature:{value}")
            # Generous: six interactions in a row share the bot's rate-limit buckets on a busy machine.
            await expect(panel).to_contain_text(f"temperature set to {value}", timeout=20_000)
        newest_reply = panel.locator(".message").last
        await expect(newest_reply).to_contain_text("0.6")
        await expect(newest_reply).to_be_in_viewport()
        await driver.post("general", "bob", "the newest message")
        await expect(page.locator("#messages .message").last).to_be_in_viewport()
        await page.screenshot(path=screenshot_path("only-you-panel"))

        await panel.get_by_role("button", name="Dismiss").click()
        await expect(panel).to_be_hidden()
        await send(page, "/chat settings temperature:0.7")
        await expect(panel).to_be_visible()
        await expect(panel.locator(".message")).to_have_count(1)


@pytest.mark.e2e
async def test_narrow_screen_keeps_channels_conversation_and_composer_usable(
    devcord: Devcord, driver: Driver, browser: Browser
) -> None:
    page = await open_general(devcord, browser, width=390, height=740)
    await driver.post("general", "bob", "a **narrow** hello with a long-unbroken-" + "word" * 20)
    await expect(page.locator("#messages .message").last).to_be_in_viewport()
    await expect(page.get_by_label("Message, or a slash command")).to_be_in_viewport()
    await expect(page.get_by_role("navigation").get_by_role("button", name="# general")).to_be_in_viewport()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.screenshot(path=screenshot_path("narrow-screen"))


@pytest.mark.e2e
async def test_ending_a_chat_says_the_channel_was_closed(devcord: Devcord, browser: Browser) -> None:
    async with running(ChatBot(), "server-bot"):
        page = await open_general(devcord, browser)
        await send(page, "/chat start")
        channels = page.get_by_role("navigation")
        await channels.get_by_role("button", name="# chat-alice").click()
        await expect(page.locator("#channel-title")).to_have_text("# chat-alice")
        await send(page, "/chat end")
        await expect(page.locator("#status")).to_have_text(
            "#chat-alice was closed, or you can no longer see it."
        )
        await expect(channels.get_by_role("button", name="# chat-alice")).to_have_count(0)
        await page.screenshot(path=screenshot_path("chat-ended"))
