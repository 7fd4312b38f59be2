"""The driver API a web page builds on: the live event stream of what one person can see."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from devcord import Devcord
from devcord.testing import Driver


async def test_event_stream_delivers_visible_messages_live(devcord: Devcord, driver: Driver) -> None:
    url = f"{devcord.base_url}/_devcord/events/ws?user=alice"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await driver.post("general", "bob", "live hello")
        frame = await asyncio.wait_for(ws.receive(), 2)
        event = json.loads(frame.data)
        assert (event["t"], event["d"]["content"]) == ("MESSAGE_CREATE", "live hello")


async def test_driver_user_gets_guild_membership_and_roles(devcord: Devcord, driver: Driver) -> None:
    await driver.create_user("carol", roles=["AI Admin"])
    state = await driver.state()
    (guild,) = state["guilds"]
    carol = next(m for m in guild["members"] if m["user"]["username"] == "carol")
    admin_role = next(r for r in guild["roles"] if r["name"] == "AI Admin")
    assert carol["roles"] == [admin_role["id"]]
