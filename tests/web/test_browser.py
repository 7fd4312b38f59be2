"""The web app in headless Chromium (Debian's /usr/bin/chromium): login through devcord's OAuth2 pages,
a streamed reply, Stop, transcript download, hostile text shown as text, the admin dashboard.
Screenshots are kept in test-artifacts/ for a person to look at."""

from __future__ import annotations

import asyncio
import json

from playwright.async_api import Browser, expect

from tests.web.browser import signed_in_page
from tests.web.conftest import ARTIFACTS, Stack

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> [click me](javascript:alert(3)) **bold**"


async def test_chat_streams_a_reply_stops_and_downloads_the_transcript(
    browser: Browser, stack: Stack
) -> None:
    page, problems = await signed_in_page(browser, stack.url, "alice")
    await page.click("#new-chat")
    await expect(page.locator("#chat-title")).to_contain_text("open")
    await page.fill("#prompt", "hello there")
    await page.click("#send")
    reply = page.locator(".message.assistant").last
    # Streamed: the reply is on the page before it is complete, then grows to the whole text.
    await expect(reply).to_contain_text("echo:")
    await expect(reply).to_contain_text("echo: hello there")
    await expect(page.locator("#stop")).to_be_disabled()

    stack.relay.padding = 400  # a long reply, so Stop lands mid-way
    await page.fill("#prompt", "tell me a long story")
    await page.click("#send")
    long_reply = page.locator(".message.assistant").last
    await expect(long_reply).to_contain_text("word3")
    await page.click("#stop")
    await expect(long_reply).to_contain_text("(stopped)")
    await expect(page.locator("#stop")).to_be_disabled()
    assert "word399" not in await long_reply.inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-chat.png"), full_page=True)

    await page.click("#end-chat")
    await expect(page.locator("#chat-title")).to_contain_text("ended")
    link = page.locator("#transcripts a", has_text="json").first
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    path = ARTIFACTS / "web-transcript.json"
    await download.save_as(str(path))
    document = json.loads(path.read_text())
    texts = [turn["text"] for turn in document["turns"]]
    assert "hello there" in texts and "echo: hello there" in texts
    assert problems == []


async def test_markup_in_prompt_and_reply_is_shown_as_text(browser: Browser, stack: Stack) -> None:
    page, problems = await signed_in_page(browser, stack.url, "bob")
    await page.click("#new-chat")
    await expect(page.locator("#chat-title")).to_contain_text("open")
    await page.fill("#prompt", HOSTILE)
    await page.click("#send")
    messages = page.locator("#messages")
    await expect(page.locator(".message.assistant").last).to_contain_text("echo: <script>alert(1)</script>")
    await expect(page.locator(".message.user").last).to_contain_text("<img src=x onerror=alert(2)>")
    await expect(messages).to_contain_text("[click me](javascript:alert(3))")
    await expect(messages.locator("strong")).to_have_count(2)  # Markdown still works, safely
    assert await messages.locator("script, img, a").count() == 0
    await expect(page.locator("#stop")).to_be_disabled()
    await page.reload()
    await expect(page.locator(".message.assistant").last).to_contain_text("<script>alert(1)</script>")
    assert await messages.locator("script, img, a").count() == 0
    assert problems == []


async def test_admin_dashboard_shows_hosts_toggles_and_audit(browser: Browser, stack: Stack) -> None:
    page, problems = await signed_in_page(browser, stack.url, "admin")
    await expect(page.locator("#admin-link")).to_be_visible()
    await page.goto(stack.url + "/admin")
    await expect(page.locator("#hosts")).to_contain_text("fake-echo")
    await page.locator("#toggles button").first.click()
    await expect(page.locator("#toggles")).to_contain_text(": on")
    await page.fill("#f-event", "web_admin")
    await page.click("#audit-filter button")
    await expect(page.locator("#audit")).to_contain_text("web_admin")
    await expect(page.locator("#metrics")).to_have_js_property("complete", True)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-admin.png"), full_page=True)
    assert problems == []


async def test_a_non_admin_sees_no_dashboard(browser: Browser, stack: Stack) -> None:
    page, _ = await signed_in_page(browser, stack.url, "alice")
    await expect(page.locator("#admin-link")).to_be_hidden()
    await page.goto(stack.url + "/admin")
    await expect(page.locator("#status")).to_contain_text("Only AI Admins")
    await expect(page.locator("#admin")).to_be_hidden()


async def test_new_chat_with_one_already_open_continues_that_one(browser: Browser, stack: Stack) -> None:
    page, problems = await signed_in_page(browser, stack.url, "alice")
    await page.click("#new-chat")
    await expect(page.locator("#chat-title")).to_contain_text("open")
    title = await page.locator("#chat-title").inner_text()
    await page.click("#new-chat")
    await expect(page.locator("#status")).to_contain_text("already have an open chat")
    assert await page.locator("#chat-title").inner_text() == title
    assert await page.locator("#sessions li").count() == 1
    assert [p for p in problems if "409" not in p] == []


async def test_regenerate_replaces_the_reply_on_the_page(browser: Browser, stack: Stack) -> None:
    page, problems = await signed_in_page(browser, stack.url, "alice")
    await page.click("#new-chat")
    await expect(page.locator("#chat-title")).to_contain_text("open")
    await page.fill("#prompt", "again please")
    await page.click("#send")
    await expect(page.locator("#stop")).to_be_disabled()
    await expect(page.locator(".message.assistant")).to_have_text(["assistantecho: again please"])
    await page.click("#regenerate")
    for _ in range(100):  # the prompt really goes to the AI host a second time
        if stack.relay.submitted == 2:
            break
        await asyncio.sleep(0.05)
    assert stack.relay.submitted == 2
    await expect(page.locator("#stop")).to_be_disabled()
    await expect(page.locator(".message")).to_have_count(2)
    await expect(page.locator(".message.assistant")).to_have_text(["assistantecho: again please"])
    assert problems == []


async def test_settings_and_system_prompt_are_saved_and_refused_clearly(
    browser: Browser, stack: Stack
) -> None:
    page, _ = await signed_in_page(browser, stack.url, "alice")
    await page.click("#new-chat")
    await expect(page.locator("#chat-title")).to_contain_text("open")
    await page.click("#settings summary")
    await page.fill("#temperature", "0.3")
    await page.fill("#system-prompt", "Answer like a <b>lizard</b>.")
    await page.click("#save-settings")
    await expect(page.locator("#status")).to_have_text("Settings saved.")
    await page.reload()
    await page.click("#settings summary")
    await expect(page.locator("#system-prompt")).to_have_value("Answer like a <b>lizard</b>.")
    await expect(page.locator("#temperature")).to_have_value("0.3")
    await page.fill("#temperature", "9")
    await page.click("#save-settings")
    await expect(page.locator("#status")).to_contain_text("emperature")
