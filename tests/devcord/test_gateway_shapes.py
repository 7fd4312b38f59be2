"""The events a discord.py bot receives for a fixed scenario, compared with Discord's documented payload
shapes ("Gateway Events": Ready, Guild Create, Message Create/Update, Interaction Create; "Interactions >
Receiving and Responding > Interaction Object").

Objects the Gateway shares with REST (user, guild, channel, member, message) are validated against the
OpenAPI schema of that object; the gateway-only fields each event adds are listed below as the docs list
them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import discord
import pytest

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import TOKENS, Recorder, intents, running
from tests.devcord.openapi import Spec

pytestmark = pytest.mark.e2e

Json = dict[str, Any]
SCHEMA = "/components/schemas/"

READY_FIELDS = {"v", "user", "guilds", "session_id", "resume_gateway_url", "application"}
GUILD_CREATE_EXTRA = {
    "joined_at",
    "large",
    "unavailable",
    "member_count",
    "voice_states",
    "members",
    "channels",
    "threads",
    "presences",
    "stage_instances",
    "guild_scheduled_events",
    "soundboard_sounds",
}
MESSAGE_CREATE_EXTRA = {"guild_id", "member"}
INTERACTION_FIELDS = {
    "id",
    "application_id",
    "type",
    "data",
    "guild",
    "guild_id",
    "channel",
    "channel_id",
    "member",
    "token",
    "version",
    "app_permissions",
    "locale",
    "guild_locale",
    "entitlements",
    "authorizing_integration_owners",
    "context",
    "attachment_size_limit",
}


class RawRecorder(Recorder):
    """Keeps every dispatch exactly as it arrived on the socket."""

    def __init__(self) -> None:
        super().__init__(intents=intents(members=True), enable_debug_events=True)
        self.raw: list[Json] = []

    async def on_socket_raw_receive(self, msg: str) -> None:
        frame = json.loads(msg)
        if frame.get("op") == 0:
            self.raw.append(frame)

    def events(self, name: str) -> list[Json]:
        return [f["d"] for f in self.raw if f["t"] == name]


def _problems(spec: Spec, schema: str, obj: Any, where: str) -> list[str]:
    return [f"{where}: {p}" for p in spec.validate(SCHEMA + schema, obj)]


def _missing(obj: Json, fields: set[str], where: str) -> list[str]:
    return [f"{where}: missing {sorted(fields - obj.keys())}"] if fields - obj.keys() else []


def check_ready(spec: Spec, d: Json) -> list[str]:
    out = _missing(d, READY_FIELDS, "READY")
    out += _problems(spec, "UserResponse", d["user"], "READY.user")
    out += [f"READY.guilds: {g}" for g in d["guilds"] if set(g) != {"id", "unavailable"}]
    out += _missing(d["application"], {"id", "flags"}, "READY.application")
    return out


def check_guild_create(spec: Spec, d: Json) -> list[str]:
    out = _missing(d, GUILD_CREATE_EXTRA, "GUILD_CREATE")
    guild = {k: v for k, v in d.items() if k not in GUILD_CREATE_EXTRA}
    out += _problems(spec, "GuildResponse", guild, "GUILD_CREATE")
    for channel in d["channels"]:
        out += _problems(spec, "GuildChannelResponse", channel, f"GUILD_CREATE.channels[{channel['name']}]")
    for member in d["members"]:
        out += _problems(spec, "GuildMemberResponse", member, "GUILD_CREATE.members[]")
    return out


def check_message(spec: Spec, name: str, d: Json) -> list[str]:
    out = _missing(d, {"guild_id"}, name)
    if d.get("webhook_id") is None:
        out += _missing(d, {"member"}, name)
        out += _problems(
            spec, "GuildMemberResponse", d.get("member", {}) | {"user": d["author"]}, f"{name}.member"
        )
    message = {k: v for k, v in d.items() if k not in MESSAGE_CREATE_EXTRA}
    return out + _problems(spec, "MessageResponse", message, name)


def check_interaction(spec: Spec, d: Json) -> list[str]:
    out = _missing(d, INTERACTION_FIELDS, "INTERACTION_CREATE")
    member = {k: v for k, v in d["member"].items() if k != "permissions"}
    out += _missing(d["member"], {"permissions", "user"}, "INTERACTION_CREATE.member")
    out += _problems(spec, "GuildMemberResponse", member, "INTERACTION_CREATE.member")
    out += _problems(spec, "GuildChannelResponse", d["channel"], "INTERACTION_CREATE.channel")
    out += _missing(d["data"], {"id", "name", "type"}, "INTERACTION_CREATE.data")
    return out


async def test_a_bot_receives_events_shaped_as_discord_documents(devcord: Devcord, driver: Driver) -> None:
    spec = Spec()
    app = next(a for a in devcord.world.apps.values() if a.name == "server-bot")
    command = {
        "name": "ask",
        "description": "ask",
        "options": [{"type": 3, "name": "prompt", "description": "p", "required": True}],
    }
    headers = {"Authorization": f"Bot {TOKENS['server-bot']}"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            f"{devcord.api_base}/applications/{app.id}/commands", json=[command], headers=headers
        ) as r,
    ):
        assert r.status == 200

    async with running(RawRecorder(), "server-bot") as bot:
        await driver.post("general", "alice", "hello bot")
        await bot.wait_for_content("hello bot")
        general = discord.utils.get(bot.get_all_channels(), name="general")
        assert isinstance(general, discord.TextChannel)
        sent = await general.send("draft")
        await sent.edit(content="final")
        await driver.command("alice", "general", "ask", application="server-bot", prompt="why?")
        async with asyncio.timeout(5):
            while not (bot.events("INTERACTION_CREATE") and len(bot.events("MESSAGE_UPDATE")) >= 1):
                await asyncio.sleep(0.01)

    problems: list[str] = []
    (ready,) = bot.events("READY")
    problems += check_ready(spec, ready)
    (guild,) = bot.events("GUILD_CREATE")
    problems += check_guild_create(spec, guild)
    for name in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
        events = bot.events(name)
        assert events, name
        for d in events:
            problems += check_message(spec, name, d)
    (interaction,) = bot.events("INTERACTION_CREATE")
    problems += check_interaction(spec, interaction)
    compared = sum(
        len(bot.events(n))
        for n in ("READY", "GUILD_CREATE", "MESSAGE_CREATE", "MESSAGE_UPDATE", "INTERACTION_CREATE")
    )
    print(f"gateway events compared={compared} problems={len(problems)}")
    assert not problems, "\n".join(problems)
