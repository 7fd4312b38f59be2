"""LIVE relay key rotation (issue #16): both bots running on devcord, the relay key rotated one host at a
time through the documented three steps (docs/deploy.md §2), and no prompt lost - including prompts sent
while the GPU host is restarting onto the next step.

Written against the public settings only (`RelaySettings.payload_encryption_key` and
`payload_encryption_previous_keys`, i.e. PAYLOAD_ENCRYPTION_KEY / PAYLOAD_ENCRYPTION_PREVIOUS_KEYS) and the
bots' public start/close, so it keeps meaning the same thing while the relay protocol evolves. Each
"restart" is a new bot object built from the new settings, as a new process would be; the server-bot
also reopens its database and shared clients (`server_context`), keeping only the database file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from client_bot.bot import ClientBot
from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import CLIENT_BOT_TOKEN, SERVER_BOT_TOKEN, StackOptions, build_settings
from server_bot.bot import ServerBot
from server_bot.main import ServerSettings, server_context
from shared import discord_endpoints
from shared.config import RelaySettings
from shared.envelope import generate_key_hex
from tests.e2e.harness import bot_reply, start_chat

pytestmark = pytest.mark.e2e

OLD, NEW = generate_key_hex(), generate_key_hex()


def _relay(base: RelaySettings, primary: str, previous: str = "") -> RelaySettings:
    return base.model_copy(
        update={
            "payload_encryption_key": SecretStr(primary),
            "payload_encryption_previous_keys": SecretStr(previous),
        }
    )


async def _until(condition: Callable[[], object], limit_s: float = 15.0) -> None:
    async with asyncio.timeout(limit_s):
        while not condition():
            await asyncio.sleep(0.02)


class TwoHosts:
    """The VPS's server-bot and the GPU host's client-bot, each restartable with new relay settings."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.client_relay = settings.relay
        self._server: ServerBot | None = None
        self._server_stack: contextlib.AsyncExitStack | None = None
        self._client: ClientBot | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start_server(self, relay: RelaySettings) -> None:
        self.settings = dataclasses.replace(self.settings, relay=relay)
        stack = contextlib.AsyncExitStack()
        ctx = await stack.enter_async_context(server_context(self.settings))
        self._server, self._server_stack = ServerBot(ctx), stack
        self._tasks["server"] = asyncio.create_task(self._server.start(SERVER_BOT_TOKEN))
        await _until(lambda: ctx.hub.link is not None)

    async def stop_server(self) -> None:
        assert self._server is not None and self._server_stack is not None
        await self._server.close()
        await _finish(self._tasks.pop("server"))
        await self._server_stack.aclose()
        self._server = self._server_stack = None

    async def start_client(self, relay: RelaySettings) -> None:
        self.client_relay = relay
        self._client = ClientBot(self.settings.discord, relay, FakeEngine())
        self._tasks["client"] = asyncio.create_task(self._client.start(CLIENT_BOT_TOKEN))
        client = self._client
        await _until(lambda: client.relay is not None)

    async def stop_client(self) -> None:
        assert self._client is not None
        await self._client.close()
        await _finish(self._tasks.pop("client"))
        self._client = None

    async def wait_online(self) -> None:
        assert self._server is not None
        hub = self._server.ctx.hub
        await _until(hub.client_online, 20)

    async def close(self) -> None:
        if self._client is not None:
            await self.stop_client()
        if self._server is not None:
            await self.stop_server()


async def _finish(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def hosts(devcord: Devcord, driver: Driver, tmp_path: Path) -> AsyncIterator[TwoHosts]:
    state = await driver.state()
    ids = (
        int(state["guilds"][0]["id"]),
        await driver.user_id("server-bot"),
        await driver.user_id("client-bot"),
    )
    options = StackOptions(
        workdir=tmp_path, reply_timeout_s=5.0, prompt_keep_s=60.0, heartbeat_interval_s=0.5
    )
    settings = build_settings(devcord, ids, options)
    discord_endpoints.apply(settings.discord)
    two = TwoHosts(dataclasses.replace(settings, relay=_relay(settings.relay, OLD)))
    await two.start_server(_relay(settings.relay, OLD))
    await two.start_client(_relay(settings.relay, OLD))
    await two.wait_online()
    try:
        yield two
    finally:
        await two.close()


async def _ask(driver: Driver, channel: int, text: str) -> None:
    prompt = await driver.post(channel, "alice", text)
    reply = await bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=20)
    assert reply["content"] == f"You said: {text}"


async def test_relay_key_rotated_one_host_at_a_time_loses_no_prompt(hosts: TwoHosts, driver: Driver) -> None:
    base = hosts.settings.relay
    channel = await start_chat(driver, "alice")
    await _ask(driver, channel, "before rotation")

    steps = [
        ("open NEW", _relay(base, OLD, NEW)),  # both still seal under OLD, and now also open NEW
        ("seal NEW", _relay(base, NEW, OLD)),  # the switched host seals NEW; the other opens it
        ("drop OLD", _relay(base, NEW)),  # after the freshness window nothing under OLD is in flight
    ]
    for name, relay in steps:
        # The GPU host first; a prompt sent while it restarts is kept and answered when it is back.
        await hosts.stop_client()
        waiting = await driver.post(channel, "alice", f"{name}: sent while the GPU host restarts")
        await hosts.start_client(relay)
        reply = await bot_reply(driver, channel, after=int(waiting["id"]), timeout_s=30)
        assert reply["content"] == f"You said: {name}: sent while the GPU host restarts"
        await _ask(driver, channel, f"{name}: GPU host rotated, VPS not yet")
        # Then the VPS.
        await hosts.stop_server()
        await hosts.start_server(relay)
        await hosts.wait_online()
        await _ask(driver, channel, f"{name}: both hosts rotated")
