"""The whole product on one machine: devcord, the server-bot and the client-bot in one event loop.

Used by `meatlizard demo`, the end-to-end tests and the relay benchmark. This launcher is the only code
that imports both bots (and devcord); each bot still reaches devcord only through its configured URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from client_bot.bot import ClientBot
from client_bot.engine import Engine
from client_bot.main import health_server as client_health
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.web_login import web_on_devcord
from server_bot.bot import ServerBot
from server_bot.main import ServerSettings, server_context
from server_bot.main import health_server as server_health
from server_bot.mcp.wiring import serving_mcp
from server_bot.ratelimit import RateRules
from server_bot.web import WebServer
from shared import discord_endpoints
from shared.config import (
    ChatSettings,
    ClientBotSettings,
    DiscordSettings,
    RelaySettings,
    ServerBotSettings,
    StorageSettings,
)
from shared.envelope import generate_key_hex
from shared.health import HealthServer
from shared.log import get_logger
from shared.relay_wiring import host_key_hex

log = get_logger(__name__)

# The demo scenario's bot tokens (devcord/scenarios/demo.yaml); local use only.
SERVER_BOT_TOKEN = "MTMwMDAwMDAwMDAwMDAwMDEwMQ.HDdKgA.rzNFxkTJimd8MDFemvTol8tM0TsfvmddfE2fZQ"  # noqa: S105 — devcord-only, in the scenario file
CLIENT_BOT_TOKEN = "MTMwMDAwMDAwMDAwMDAwMDEwMg.HDdKgA.7uogJcnL0gX5W4LoFfN7MNf-fc21Qd26Zkyj6A"  # noqa: S105


@dataclass
class StackOptions:
    """What differs between the demo, the embedded tests and the production-backend tests."""

    workdir: Path
    database_url: str | None = None
    redis_url: str | None = None
    s3: dict[str, str] | None = None  # endpoint_url, bucket (credentials from the environment)
    reply_timeout_s: float = 30.0
    prompt_keep_s: float = 600.0
    heartbeat_interval_s: float = 20.0
    chat: dict[str, Any] = field(default_factory=dict)
    # Further ServerBotSettings fields, e.g. moderation_config, fallback_enabled, metrics_sample_interval_s.
    server: dict[str, Any] = field(default_factory=dict)
    rate_rules: RateRules | None = None  # None: the production defaults
    # Also serve the web app, signed in through devcord (meatlizard/web_login.py); port 0 picks one.
    web: bool = False
    web_port: int = 0
    # Further GPU hosts (client-bots `client-bot-2`, ... in `multi_host_scenario`), with their engines.
    # With any, every host holds only its own relay key, derived from the master key.
    extra_host_engines: list[Engine] = field(default_factory=list)
    # RELAY_CHANNELS for the server-bot; None: the product's default.
    relay_channels: int | None = None


@dataclass
class Stack:
    devcord: Devcord
    driver: Driver
    server: ServerBot
    client: ClientBot | None
    settings: ServerSettings
    client_settings: tuple[DiscordSettings, RelaySettings, ClientBotSettings]
    engine: Engine
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    # Each bot's /health, as its process serves it in production (free ports on 127.0.0.1).
    health: dict[str, HealthServer] = field(default_factory=dict)
    web: WebServer | None = None
    # Further hosts by number (2, 3, ...): their bots and settings.
    hosts: dict[int, ClientBot] = field(default_factory=dict)
    host_settings: dict[int, tuple[DiscordSettings, RelaySettings, Engine]] = field(default_factory=dict)

    async def start_host(self, number: int, engine: Engine | None = None) -> None:
        """Bring further host `number` (2, 3, ...) online, with a fresh engine if given."""
        discord_settings, relay, old_engine = self.host_settings[number]
        engine = engine or old_engine
        self.host_settings[number] = (discord_settings, relay, engine)
        bot = ClientBot(discord_settings, relay, engine)
        self.hosts[number] = bot
        self._tasks[f"client-bot-{number}"] = asyncio.create_task(
            bot.start(host_token(number)), name=f"client-bot-{number}"
        )
        await _until(lambda: bot.relay is not None, f"client-bot-{number} relay")

    async def stop_host(self, number: int) -> None:
        """Take further host `number` offline at once (as if its machine died)."""
        bot = self.hosts.pop(number, None)
        if bot is not None:
            await bot.close()
            await _finish(self._tasks.pop(f"client-bot-{number}"))

    @property
    def relay_channel_id(self) -> int:
        link = self.server.ctx.hub.link
        assert link is not None
        return link.channel.id

    @property
    def relay_channel_ids(self) -> list[int]:
        """Every relay channel, the control channel first."""
        link = self.server.ctx.hub.link
        assert link is not None
        return [channel.id for channel in link.channels]

    async def stop_client(self) -> None:
        """Take the client-bot offline (as if the GPU host went away)."""
        if self.client is not None:
            await self.client.close()
            await _finish(self._tasks.pop("client-bot"))
            self.client = None

    async def start_client(self, engine: Engine | None = None) -> None:
        """Bring a fresh client-bot online; a client-bot closes its engine, so a restart brings a new one."""
        if engine is not None:
            self.engine = engine
        discord_settings, relay, _ = self.client_settings
        self.client = ClientBot(discord_settings, relay, self.engine)
        # The previous client's endpoint stays up after `stop_client` (reporting it down) until replaced.
        if (previous := self.health.pop("client-bot", None)) is not None:
            await previous.stop()
        self.health["client-bot"] = client_health(self.client, "127.0.0.1", 0)
        await self.health["client-bot"].start()
        started = self.client.start(CLIENT_BOT_TOKEN)
        self._tasks["client-bot"] = asyncio.create_task(started, name="client-bot")
        await _until(lambda: self.client is not None and self.client.relay is not None, "client-bot relay")


def host_bot_id(number: int) -> int:
    """The bot user id of further host `number` in `multi_host_scenario`."""
    return 1300000000000000200 + number


def host_token(number: int) -> str:
    """The devcord token of further host `number` in `multi_host_scenario` (shaped like Discord's)."""
    from devcord.tokens import bot_token  # noqa: PLC0415

    return bot_token(host_bot_id(number), secret=f"client-bot-{number}", issued_at=1_700_000_000)


def _extra_numbers(options: StackOptions) -> range:
    return range(2, len(options.extra_host_engines) + 2)


def _with_hosts(
    settings: ServerSettings, extra_ids: list[int]
) -> tuple[ServerSettings, RelaySettings, dict[int, RelaySettings]]:
    """With further hosts: the server-bot knows them all, and each host holds only its derived key."""
    if not extra_ids:
        return settings, settings.relay, {}
    master = settings.relay.payload_encryption_key.get_secret_value()
    server_relay = settings.relay.model_copy(
        update={"relay_host_ids": ",".join(map(str, extra_ids)), "relay_per_host_keys": True}
    )

    def for_host(host_id: int) -> RelaySettings:
        key = SecretStr(host_key_hex(master, host_id))
        return settings.relay.model_copy(update={"payload_encryption_key": key})

    first = settings.discord.client_bot_user_id
    return (
        dataclasses.replace(settings, relay=server_relay),
        for_host(first),
        {host_id: for_host(host_id) for host_id in extra_ids},
    )


def multi_host_scenario(hosts: int, users: int = 0, **settings: Any) -> dict[str, Any]:
    """The demo scenario with `hosts` client-bots (`client-bot`, `client-bot-2`, ...) and `users` extra
    guild members `user-001`, `user-002`, ... (for load)."""
    from devcord.testing import demo_scenario  # noqa: PLC0415

    data = demo_scenario(**settings)
    guild = data["guilds"][0]
    for number in range(1, users + 1):
        data["users"].append({"name": f"user-{number:03d}"})
        guild["members"].append({"user": f"user-{number:03d}"})
    for number in range(2, hosts + 1):
        name = f"client-bot-{number}"
        data["applications"].append(
            {
                "name": name,
                "bot_id": host_bot_id(number),
                "token": host_token(number),
                "intents": ["MESSAGE_CONTENT"],
            }
        )
        guild["members"].append({"user": name, "roles": ["client-bot"]})
    return data


async def _finish(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, 10)


async def _until(condition: Any, what: str, limit_s: float = 15.0) -> None:
    async with asyncio.timeout(limit_s):
        # Polling: the conditions belong to discord.py clients that expose no event to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    log.debug("%s is up", what)


async def _ids(driver: Driver) -> tuple[int, int, int]:
    state = await driver.state()
    guild = int(state["guilds"][0]["id"])
    return guild, await driver.user_id("server-bot"), await driver.user_id("client-bot")


def build_settings(devcord: Devcord, ids: tuple[int, int, int], options: StackOptions) -> ServerSettings:
    guild_id, server_id, client_id = ids
    discord_settings = DiscordSettings(
        api_base=devcord.api_base,
        gateway_url=devcord.gateway_url,
        guild_id=guild_id,
        server_bot_user_id=server_id,
        client_bot_user_id=client_id,
        guild_ready_timeout_s=0.2,
    )
    relay = RelaySettings(
        payload_encryption_key=generate_key_hex(),
        relay_heartbeat_interval_s=options.heartbeat_interval_s,
    )
    if options.relay_channels is not None:
        relay = relay.model_copy(update={"relay_channels": options.relay_channels})
    s3 = options.s3 or {}
    storage = StorageSettings(
        database_url=options.database_url or f"sqlite+aiosqlite:///{options.workdir / 'meatlizard.db'}",
        storage_encryption_key=generate_key_hex(),
        object_store_dir=options.workdir / "objects",
        audit_log_file=options.workdir / "audit.log",
        redis_url=options.redis_url,
        s3_endpoint_url=s3.get("endpoint_url"),
        s3_bucket=s3.get("bucket"),
    )
    server = ServerBotSettings(
        token=SERVER_BOT_TOKEN,
        health_port=0,
        reply_timeout_s=options.reply_timeout_s,
        prompt_keep_s=options.prompt_keep_s,
        **options.server,
    )
    return ServerSettings(discord_settings, relay, server, ChatSettings(**options.chat), storage)


@contextlib.asynccontextmanager
async def running_stack(devcord: Devcord, engine: Engine, options: StackOptions) -> AsyncIterator[Stack]:
    """Start both bots against a running devcord; yield once both are relaying; stop them afterwards."""
    options.workdir.mkdir(parents=True, exist_ok=True)
    async with Driver(devcord.base_url) as driver:
        settings = build_settings(devcord, await _ids(driver), options)
        discord_endpoints.apply(settings.discord)
        extra_ids = [await driver.user_id(f"client-bot-{n}") for n in _extra_numbers(options)]
        settings, client_relay, host_relays = _with_hosts(settings, extra_ids)
        client_settings = (
            settings.discord,
            client_relay,
            ClientBotSettings(token=CLIENT_BOT_TOKEN, health_port=0),
        )
        async with server_context(settings, options.rate_rules) as ctx:
            server = ServerBot(ctx)
            stack = Stack(devcord, driver, server, None, settings, client_settings, engine)
            stack.health["server-bot"] = server_health(server, "127.0.0.1", 0)
            await stack.health["server-bot"].start()
            started = server.start(SERVER_BOT_TOKEN)
            stack._tasks["server-bot"] = asyncio.create_task(started, name="server-bot")
            try:
                await asyncio.wait_for(ctx.hub.ready(), 15)  # the relay channel and hosts are set up
                await stack.start_client()
                await _until(ctx.hub.client_online, "first heartbeat")
                for number, host_id, host_engine in zip(
                    _extra_numbers(options), extra_ids, options.extra_host_engines, strict=True
                ):
                    host_discord = settings.discord.model_copy(update={"client_bot_user_id": host_id})
                    stack.host_settings[number] = (host_discord, host_relays[host_id], host_engine)
                    await stack.start_host(number)
                async with contextlib.AsyncExitStack() as web:
                    if options.web:
                        mcp = await web.enter_async_context(serving_mcp(ctx, server, enabled=True))
                        assert mcp is not None
                        stack.web = await web.enter_async_context(
                            web_on_devcord(devcord, ctx, options.web_port, **mcp.web_extras())
                        )
                    yield stack
            finally:
                for number in list(stack.hosts):
                    await stack.stop_host(number)
                await stack.stop_client()
                await server.close()
                await _finish(stack._tasks.pop("server-bot"))
                for endpoint in stack.health.values():
                    await endpoint.stop()


@contextlib.asynccontextmanager
async def running_devcord(
    host: str = "127.0.0.1", port: int = 0, scenario: Any = None
) -> AsyncIterator[Devcord]:
    from devcord.testing import demo_scenario  # noqa: PLC0415

    server = Devcord(scenario if scenario is not None else demo_scenario())
    await server.start(host, port)
    try:
        yield server
    finally:
        await server.stop()
