"""The "Access tokens" page in headless Chromium: create a token (its secret is shown once), reload (it is
gone), revoke it after the confirmation (the list says revoked and the token no longer opens MCP).
The screenshot is kept in test-artifacts/ for a person to look at."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, expect

from client_bot.engine import FakeEngine
from devcord import Devcord
from tests.mcp.harness import INITIALIZE, McpStack, mcp_stack, raw_post, replies
from tests.web.browser import signed_in_page
from tests.web.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


@pytest.fixture
async def mcp(devcord: Devcord, tmp_path: Path) -> AsyncIterator[McpStack]:
    async with mcp_stack(devcord, FakeEngine(replies), tmp_path) as running:
        yield running


async def test_a_token_is_created_shown_once_and_revoked_on_the_page(mcp: McpStack, browser: Browser) -> None:
    page, problems = await signed_in_page(browser, mcp.web_url, "alice")
    await page.click("#tokens-link")
    await expect(page.locator("#who")).to_have_text("alice")
    await expect(page.locator("#tokens")).to_contain_text("No tokens yet.")

    await page.fill("#token-name", "laptop <b>x</b>")
    await page.check("input[name=scope][value=transcripts]")
    await page.click("#create-token")
    await expect(page.locator("#new-token")).to_be_visible()
    await expect(page.locator("#new-token")).to_contain_text("shown this once")
    secret = await page.locator("#new-token-value").input_value()
    assert secret.startswith("mlz_")
    row = page.locator("#tokens tr[data-token]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("laptop <b>x</b>")  # a name is text, never markup
    await expect(row).to_contain_text("chat, transcripts")
    assert (await raw_post(mcp.url, secret, INITIALIZE)).status_code == 200
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-tokens-created.png"), full_page=True)

    await page.reload()
    await expect(row).to_have_count(1)
    await expect(page.locator("#new-token")).to_be_hidden()
    assert secret not in await page.content()

    dismissed: list[str] = []
    answering: list[asyncio.Future[None]] = []

    def answer(dialog: Dialog, accept: bool) -> None:
        dismissed.append(dialog.message)
        answering.append(asyncio.ensure_future(dialog.accept() if accept else dialog.dismiss()))

    page.once("dialog", lambda dialog: answer(dialog, False))  # "Cancel" leaves it alone
    await page.click("#tokens button.revoke")
    await expect(page.locator("#tokens button.revoke")).to_have_count(1)
    await expect(row).not_to_contain_text("revoked")
    page.once("dialog", lambda dialog: answer(dialog, True))
    await page.click("#tokens button.revoke")
    await expect(row).to_contain_text("revoked")
    await expect(page.locator("#tokens button.revoke")).to_have_count(0)
    await expect(page.locator("#status")).to_contain_text("revoked")
    assert len(dismissed) == 2 and all("Revoke the token" in m for m in dismissed)
    assert (await raw_post(mcp.url, secret, INITIALIZE)).status_code == 401
    await page.screenshot(path=str(ARTIFACTS / "web-tokens-revoked.png"), full_page=True)
    assert [p for p in problems if not p.startswith("dialog: Revoke the token")] == []
