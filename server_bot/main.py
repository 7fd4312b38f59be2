"""Start the server-bot: check configuration, migrate the database, open shared clients, run."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from server_bot.bot import ServerBot, ServerContext
from server_bot.core import Core
from server_bot.db.engine import create_engine, create_sessionmaker
from server_bot.db.migrate import upgrade_to_head
from server_bot.db.repository import Repository
from server_bot.db.sealing import StorageSealer
from server_bot.lifecycle import UserDataService, start_retention
from server_bot.mcp.wiring import serving_mcp
from server_bot.moderation import ModerationConfigError, Moderator
from server_bot.objects import LocalFolderStore, ObjectStore, ObjectStoreError, S3ObjectStore
from server_bot.ratelimit import RateLimitConfigError, RateLimiter, RateRules
from server_bot.relay import RelayHub
from server_bot.web import serving as serving_web
from shared import discord_endpoints
from shared.audit import AuditLog
from shared.config import (
    ChatSettings,
    ConfigError,
    DiscordSettings,
    RelaySettings,
    RetentionSettings,
    ServerBotSettings,
    StorageSettings,
    WebSettings,
    load_all,
)
from shared.discord_internals import UnsupportedDiscordVersion
from shared.health import HealthServer
from shared.log import configure_logging, get_logger

log = get_logger(__name__)

# On SIGTERM, how long replies being written may take to finish before their users are told it was cut
# off; with the rest of the shutdown this stays within a supervisor's usual 10-15 s stop timeout.
SHUTDOWN_GRACE_S = 8.0


@dataclass(frozen=True)
class ServerSettings:
    discord: DiscordSettings
    relay: RelaySettings
    server: ServerBotSettings
    chat: ChatSettings
    storage: StorageSettings
    web: WebSettings = field(default_factory=WebSettings)  # server_bot/web, off by default
    retention: RetentionSettings = field(default_factory=RetentionSettings)  # docs/security.md

    def __post_init__(self) -> None:
        self.check_across_areas()

    def check_across_areas(self) -> None:
        """Rules no single area can check; raises `ConfigError` naming the variables, never their values."""
        storage_key = self.storage.storage_encryption_key.get_secret_value().strip().lower()
        if storage_key == self.relay.payload_encryption_key.get_secret_value().strip().lower():
            # One key for both jobs would make a relay-key leak also a leak of every stored conversation.
            raise ConfigError(
                "invalid configuration:\n  STORAGE_ENCRYPTION_KEY must differ from PAYLOAD_ENCRYPTION_KEY"
            )

    @classmethod
    def from_env(cls) -> ServerSettings:
        classes = (
            DiscordSettings,
            RelaySettings,
            ServerBotSettings,
            ChatSettings,
            StorageSettings,
            WebSettings,
            RetentionSettings,
        )
        return cls(*load_all(*classes))  # type: ignore[arg-type]


def object_store(storage: StorageSettings) -> ObjectStore:
    if storage.s3_endpoint_url and storage.s3_bucket:
        return S3ObjectStore(storage.s3_endpoint_url, storage.s3_bucket, region=storage.s3_region)
    return LocalFolderStore(storage.object_store_dir)


def load_moderator(settings: ServerSettings) -> Moderator:
    path = settings.server.moderation_config
    assert path is not None
    try:
        moderator = Moderator.from_file(path)
    except ModerationConfigError as exc:
        raise ConfigError(f"invalid configuration:\n  SERVER_BOT_MODERATION_CONFIG: {exc}") from None
    log.info("moderation: %d rules from %s", len(moderator.rules), path)
    return moderator


@asynccontextmanager
async def server_context(
    settings: ServerSettings, rate_rules: RateRules | None = None
) -> AsyncIterator[ServerContext]:
    """Open every shared client once; close them all on the way out, whatever happened.

    `rate_rules` overrides the default limits (tests use tight ones to reach a limit quickly)."""
    storage = settings.storage
    await upgrade_to_head(storage.database_url)
    async with AsyncExitStack() as stack:
        engine = create_engine(storage.database_url)
        stack.push_async_callback(engine.dispose)
        sealer = StorageSealer.from_settings(
            storage, relay_key_hex=settings.relay.payload_encryption_key.get_secret_value()
        )
        repo = Repository(create_sessionmaker(engine), sealer)
        limiter = RateLimiter.from_url(storage.redis_url, rate_rules)
        stack.push_async_callback(limiter.aclose)
        # A wrong Redis password or TLS setup stops start-up here (RedisConfigError names REDIS_URL only).
        await limiter.verify()
        audit = AuditLog(storage.audit_log_file, sinks=[repo.audit_sink])
        stack.callback(audit.close)
        relay = settings.relay
        hub = RelayHub(
            reply_timeout_s=settings.server.reply_timeout_s,
            prompt_keep_s=settings.server.prompt_keep_s,
            heartbeat_interval_s=relay.relay_heartbeat_interval_s,
        )
        objects = object_store(storage)
        if isinstance(objects, S3ObjectStore):
            # Creates the private bucket on first start; an unreachable S3 stops start-up here, clearly.
            await objects.ensure_bucket()
        # The retention purge (and, on S3, the bucket's expiry rules); closed before the engine.
        retention = await start_retention(create_sessionmaker(engine), objects, settings.retention, audit)
        stack.push_async_callback(retention.aclose)
        moderator = None if settings.server.moderation_config is None else load_moderator(settings)
        core = Core(
            repo=repo,
            objects=objects,
            limiter=limiter,
            relay=hub,
            audit=audit,
            hosts=hub,
            chat=settings.chat,
            moderator=moderator,
            fallback_default=settings.server.fallback_enabled,
            admin_role_id=settings.discord.admin_role_id,
            transcript_link_ttl_s=storage.transcript_link_ttl_s,
            user_data=UserDataService(
                create_sessionmaker(engine), sealer, objects, audit, storage.audit_log_file
            ),
        )
        yield ServerContext(
            core=core,
            discord=settings.discord,
            relay=relay,
            server=settings.server,
            chat=settings.chat,
            storage=storage,
            repo=repo,
            objects=objects,
            limiter=limiter,
            moderator=moderator,
            audit=audit,
            hub=hub,
        )


def health_server(bot: ServerBot, host: str, port: int) -> HealthServer:
    """`GET /health` for the server-bot: 503 while the gateway, database or object store is down; Redis
    is optional (the limiter falls back to in-process limits), so its outage only degrades."""
    ctx = bot.ctx
    health = HealthServer(host, port)
    health.add_check("gateway", bot.gateway_health)
    health.add_check("database", ctx.repo.health)
    health.add_check("object_store", _object_store_check(ctx.objects))
    health.add_check("rate_limiter", ctx.limiter.healthy, required=False)
    return health


def _object_store_check(objects: ObjectStore) -> Callable[[], Awaitable[tuple[bool, str]]]:
    async def check() -> tuple[bool, str]:
        try:
            await objects.exists("health/probe")
        except ObjectStoreError as exc:
            return False, type(exc).__name__
        return True, type(objects).__name__

    return check


def _rate_rules(server: ServerBotSettings) -> RateRules | None:
    overrides = {
        name: value
        for name, value in (
            ("prompt_per_user", server.prompt_rate_per_user),
            ("prompt_global", server.prompt_rate_global),
        )
        if value is not None
    }
    return RateRules(**overrides) if overrides else None


async def run(settings: ServerSettings) -> int:
    """Run the bot until it closes; returns the exit code it asked for (0 when none)."""
    discord_endpoints.apply(settings.discord)
    async with (
        server_context(settings, _rate_rules(settings.server)) as ctx,
        ServerBot(ctx) as bot,
        # The MCP endpoint (server_bot/mcp) is served by the web app at /mcp.
        serving_mcp(ctx, bot, enabled=settings.web.enabled) as mcp,
        serving_web(settings.web, ctx, **(mcp.web_extras() if mcp is not None else {})),
    ):
        health = health_server(bot, settings.server.health_host, settings.server.health_port)
        await health.start()
        # A supervisor's stop (systemd, compose, the chaos harness) is SIGTERM: drain, then exit 0.
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, bot.stop_soon, SHUTDOWN_GRACE_S)
        try:
            await bot.start(settings.server.token.get_secret_value())
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await bot.stopped()
            await health.stop()
    return bot.exit_code or 0


def main() -> None:
    configure_logging()
    try:
        settings = ServerSettings.from_env()
    except ConfigError as exc:
        print(f"server-bot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        code = asyncio.run(run(settings))
    except (ConfigError, RateLimitConfigError, UnsupportedDiscordVersion) as exc:  # found while starting
        print(f"server-bot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(code)
