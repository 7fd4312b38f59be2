"""A person's own data on the web: download it (own data only), delete it (CSRF and a confirmation)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
from playwright.async_api import Browser, expect

from server_bot.core import Actor
from server_bot.web.routes.my_data import CONFIRMATION
from tests.web.browser import signed_in_page
from tests.web.conftest import Stack, sign_in


async def _chat(stack: Stack, user: str, text: str) -> None:
    actor = Actor(stack.user_id(user), "discord", guild_id=stack.guild_id)
    session = await stack.core.sessions.open(actor)
    async with contextlib.aclosing(await stack.core.conversation.submit(actor, session.id, text)) as s:
        async for _ in s:
            pass


async def test_download_my_data_holds_my_messages_and_nothing_of_another_user(stack: Stack) -> None:
    await _chat(stack, "alice", "alice-says-PERIWINKLE")
    await _chat(stack, "bob", "bob-says-HAZELNUT")
    http = await sign_in(stack, "alice")

    answer = await http.get("/api/me/data")

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "attachment" in answer.headers["content-disposition"]
    assert json.loads(answer.content)["format"] == "meatlizard-export/1"
    assert "alice-says-PERIWINKLE" in answer.text
    assert "HAZELNUT" not in answer.text and str(stack.user_id("bob")) not in answer.text
    await http.aclose()


async def test_download_needs_a_sign_in(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as anonymous:
        assert (await anonymous.get("/api/me/data")).status_code == 401


async def test_delete_my_data_needs_csrf_and_the_confirmation_then_leaves_nothing(stack: Stack) -> None:
    alice = stack.user_id("alice")
    await _chat(stack, "alice", "alice-says-PERIWINKLE")
    await _chat(stack, "bob", "bob-says-HAZELNUT")
    http = await sign_in(stack, "alice")
    csrf = http.headers.pop("X-CSRF-Token")

    without_csrf = await http.post("/api/me/data/forget", json={"confirm": CONFIRMATION})
    assert without_csrf.status_code == 403
    http.headers["X-CSRF-Token"] = csrf
    unconfirmed = await http.post("/api/me/data/forget", json={})
    assert unconfirmed.status_code == 400 and "nothing was deleted" in unconfirmed.text
    repo = stack.core.repo
    assert len(await repo.list_sessions_for_user(alice)) == 1

    done = await http.post("/api/me/data/forget", json={"confirm": CONFIRMATION})

    assert done.status_code == 200 and done.json()["sessions"] == 1
    assert await repo.list_sessions_for_user(alice) == []
    assert await repo.get_user(alice) is None
    assert len(await repo.list_sessions_for_user(stack.user_id("bob"))) == 1
    assert (await http.get("/api/me/data")).status_code == 401, "the sign-in ended with the data"
    await http.aclose()


async def test_the_page_downloads_my_data_and_deletes_it_only_after_the_typed_confirmation(
    browser: Browser, stack: Stack
) -> None:
    alice = stack.user_id("alice")
    await _chat(stack, "alice", "alice-says-PERIWINKLE")
    page, problems = await signed_in_page(browser, stack.url, "alice")
    async with page.expect_download() as info:
        await page.click("#download-data")
    path = await (await info.value).path()
    assert "alice-says-PERIWINKLE" in path.read_text()

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
    await page.click("#forget-me")
    await asyncio.sleep(0.5)
    assert len(await stack.core.repo.list_sessions_for_user(alice)) == 1, "cancelled: nothing deleted"

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept(CONFIRMATION)))
    await page.click("#forget-me")
    await expect(page.locator("#login")).to_be_visible()
    assert await stack.core.repo.list_sessions_for_user(alice) == []
    # The two confirmation dialogs are ours; after the delete the page reloads signed out (/api/me: 401).
    unexpected = [p for p in problems if not p.startswith("dialog: This deletes") and "401" not in p]
    assert unexpected == [], problems
