"""The web app in the whole stack (devcord, both bots, the relay, an engine): a chat started in Discord
is continued on the web and then in Discord again; and the real model answers on the web."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from client_bot.engine import EngineConfig, FakeEngine, GenerationRequest, LlamaEngine
from devcord import Devcord
from devcord.testing import Driver
from tests.e2e.harness import bot_reply, stack_on, start_chat
from tests.web.browser import signed_in_page

pytestmark = [pytest.mark.e2e]


async def test_a_discord_chat_is_continued_on_the_web_and_back(
    devcord: Devcord, driver: Driver, tmp_path: Path, browser: Browser
) -> None:
    seen: list[GenerationRequest] = []

    def echo(request: GenerationRequest) -> str:
        seen.append(request)
        return f"echo {request.messages[-1].content}"

    async with stack_on(devcord, FakeEngine(echo, token_delay_s=0.02), tmp_path, web=True) as stack:
        assert stack.web is not None
        channel = await start_chat(driver, "alice")
        first = await driver.post(channel, "alice", "first from discord")
        await bot_reply(driver, channel, after=int(first["id"]))

        page, problems = await signed_in_page(browser, stack.web.url, "alice")
        await expect(page.locator("#sessions")).to_contain_text("discord, open")
        await expect(page.locator(".message.assistant").first).to_contain_text("echo first from discord")
        await page.fill("#prompt", "second from the web")
        await page.click("#send")
        await expect(page.locator(".message.assistant").last).to_contain_text("echo second from the web")
        await expect(page.locator("#stop")).to_be_disabled()

        third = await driver.post(channel, "alice", "third from discord")
        reply = await bot_reply(driver, channel, after=int(third["id"]))
        assert "echo third from discord" in reply["content"]
        # The model saw the web turn too: it is one conversation, whichever front it came through.
        assert "second from the web" in [m.content for m in seen[-1].messages]
        await page.reload()
        await expect(page.locator(".message")).to_have_count(6)
        assert problems == []


@pytest.mark.llm
async def test_the_real_model_answers_on_the_web_as_it_streams(
    devcord: Devcord, tmp_path: Path, browser: Browser
) -> None:
    engine = LlamaEngine(EngineConfig(n_ctx=2048, n_threads=2))
    chat = {"default_temperature": 0.0, "default_max_tokens": 48}
    async with stack_on(devcord, engine, tmp_path, web=True, chat=chat) as stack:
        assert stack.web is not None
        page, problems = await signed_in_page(browser, stack.web.url, "bob")
        await page.click("#new-chat")
        await expect(page.locator("#chat-title")).to_contain_text("open")
        await page.fill("#prompt", "Say hello to a lizard in one short sentence.")
        await page.click("#send")
        await expect(page.locator("#stop")).to_be_enabled()
        await expect(page.locator("#stop")).to_be_disabled(timeout=60_000)
        reply = (await page.locator(".message.assistant .body").last.inner_text()).strip()
        assert len(reply.split()) >= 2, reply
        assert problems == []
