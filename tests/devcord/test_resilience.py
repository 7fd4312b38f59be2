"""Rate limits, resumes and injected faults, as discord.py experiences them."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import TOKENS, Recorder, running

pytestmark = pytest.mark.e2e


async def test_a_429_is_retried_by_discord_py(devcord: Devcord, driver: Driver) -> None:
    await driver.set_ratelimits(routes={"message_create": {"limit": 1, "per": 0.5}})
    async with running(Recorder(), "server-bot") as bot:
        channel_id = await driver.channel_id("general")
        # Another process with the same token spends the bucket, so discord.py cannot know it is empty.
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bot {TOKENS['server-bot']}"}
            url = f"{devcord.api_base}/channels/{channel_id}/messages"
            async with http.post(url, json={"content": "first"}, headers=headers) as resp:
                assert resp.status == 200
            async with http.post(url, json={"content": "refused"}, headers=headers) as resp:
                assert resp.status == 429
                assert resp.headers["Via"] == "1.1 google"
                body = await resp.json()
                assert body["global"] is False and body["retry_after"] > 0
        channel = bot.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("second")
        assert await driver.served_429() == 2
        assert [m["content"] for m in await driver.messages("general")] == ["first", "second"]


async def test_steady_sending_within_the_headers_meets_no_429(devcord: Devcord, driver: Driver) -> None:
    await driver.set_ratelimits(routes={"message_create": {"limit": 2, "per": 0.3}})
    async with running(Recorder(), "server-bot") as bot:
        channel = bot.get_channel(await driver.channel_id("general"))
        assert isinstance(channel, discord.TextChannel)
        for n in range(5):
            await channel.send(f"m{n}")
        assert await driver.served_429() == 0
        assert len(await driver.messages("general")) == 5


async def test_injected_server_errors_are_retried(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot:
        channel = bot.get_channel(await driver.channel_id("general"))
        assert isinstance(channel, discord.TextChannel)
        await driver.http_faults(error_status=502, error_count=1)
        await channel.send("after a 502")
        assert [m["content"] for m in await driver.messages("general")] == ["after a 502"]


async def test_dropped_connection_resumes_without_losing_events(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "client-bot") as bot:
        assert await driver.drop_gateway("client-bot") == 1
        for n in range(3):
            await driver.post("general", "alice", f"while away {n}")
        for n in range(3):
            await bot.wait_for_content(f"while away {n}")
        assert bot.resumed == 1
        assert bot.readies == 1
        assert [m.content for m in bot.seen] == [f"while away {n}" for n in range(3)]


async def test_reconnect_request_is_followed_by_a_resume(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "client-bot") as bot:
        assert await driver.reconnect_gateway("client-bot") == 1
        async with asyncio.timeout(5):
            while bot.resumed < 1:
                await asyncio.sleep(0.01)
        await driver.post("general", "alice", "still here")
        await bot.wait_for_content("still here")


async def test_invalidated_session_identifies_again(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "client-bot") as bot:
        assert await driver.invalidate_gateway("client-bot") == 1
        async with asyncio.timeout(10):
            while bot.readies < 2:
                await asyncio.sleep(0.01)
        await driver.post("general", "alice", "fresh session")
        await bot.wait_for_content("fresh session")


async def test_event_feed_shows_a_user_what_they_can_see(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "client-bot") as bot:
        relay = bot.get_channel(await driver.channel_id("relay"))
        assert isinstance(relay, discord.TextChannel)
        await relay.send("hidden from alice")
        await driver.post("general", "bob", "hi all")
        feed = await driver.events("alice", wait_s=1)
        contents = [e["d"].get("content") for e in feed["events"] if e["t"] == "MESSAGE_CREATE"]
        assert contents == ["hi all"]
        later = await driver.events("alice", after=feed["last_seq"], wait_s=0)
        assert later["events"] == []
