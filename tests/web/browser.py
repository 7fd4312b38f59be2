"""Signing in to the web app in headless Chromium (the browser itself: tests/fixtures/chromium.py)."""

from __future__ import annotations

from playwright.async_api import Browser, ConsoleMessage, Page, expect


async def signed_in_page(browser: Browser, url: str, user: str) -> tuple[Page, list[str]]:
    """A page signed in as `user` by clicking through the sign-in link and devcord's consent page.
    Returns the page and the list its console errors and dialogs are collected into from then on."""
    page = await browser.new_page(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    await page.goto(url + "/")
    await page.click("#login")
    await page.select_option("#user", label=user)
    await page.click("#authorize")
    await expect(page.locator("#who")).to_have_text(user)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    return page, problems
