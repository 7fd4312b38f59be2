"""Start the client-bot on the GPU host: check configuration, load the model, connect outbound only."""

from __future__ import annotations

import asyncio
import signal
import sys

from client_bot.bot import ClientBot
from client_bot.engine import Engine, FakeEngine, LlamaEngine, engine_config
from shared import discord_endpoints, metrics
from shared.config import (
    ClientBotSettings,
    ConfigError,
    DiscordSettings,
    ModelSettings,
    RelaySettings,
    load_all,
)
from shared.health import HealthServer
from shared.log import configure_logging, get_logger

log = get_logger(__name__)

# On SIGTERM, how long the requests in hand may take to finish (the server-bot re-sends any cut off).
SHUTDOWN_GRACE_S = 8.0


def llama_engine(model: ModelSettings) -> LlamaEngine:
    return LlamaEngine(engine_config(model))


def health_server(bot: ClientBot, host: str, port: int) -> HealthServer:
    """`GET /health` for the client-bot: 503 while the gateway is down or the model is not loaded."""
    health = HealthServer(host, port)
    health.add_check("gateway", bot.gateway_health)
    health.add_check("model", bot.model_health)
    return health


async def run(
    discord_settings: DiscordSettings,
    relay: RelaySettings,
    client: ClientBotSettings,
    engine: Engine,
) -> int:
    """Run the bot until it closes; returns the exit code it asked for (0 when none)."""
    discord_endpoints.apply(discord_settings)
    metrics.track_engine(lambda: engine.queue_depth, lambda: engine.stats().tokens_per_s)
    async with ClientBot(discord_settings, relay, engine, data_dir=client.data_dir) as bot:
        health = health_server(bot, client.health_host, client.health_port)
        await health.start()
        # A supervisor's stop is SIGTERM: finish the requests in hand (bounded), then exit 0.
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, bot.stop_soon, SHUTDOWN_GRACE_S)
        try:
            await bot.start(client.token.get_secret_value())
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await bot.stopped()
            await health.stop()
    return bot.exit_code or 0


def main() -> None:
    configure_logging()
    try:
        discord_settings, relay, client, model = load_all(
            DiscordSettings, RelaySettings, ClientBotSettings, ModelSettings
        )
    except ConfigError as exc:
        print(f"client-bot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    assert isinstance(model, ModelSettings) and isinstance(client, ClientBotSettings)
    delay = client.fake_engine_token_delay_s
    engine: Engine
    if delay is None:
        engine = llama_engine(model)
    else:
        engine = FakeEngine(token_delay_s=delay, slots=client.fake_engine_slots)
    code = asyncio.run(run(discord_settings, relay, client, engine))  # type: ignore[arg-type]
    raise SystemExit(code)
