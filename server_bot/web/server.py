"""Serve the web app with uvicorn as an asyncio task inside the server-bot process.

`WebServer` owns that task: `start()` returns once the socket listens (so `url` is known, port 0 picks
a free one), `stop()` asks uvicorn to finish and waits for it. uvicorn's signal capture is turned off:
the server-bot's own shutdown path stops the web app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Protocol

import uvicorn
from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from server_bot.core import Core
from server_bot.core.ports import ObjectStore
from server_bot.web.app import create_app
from server_bot.web.context import RelayStatus, WebContext
from server_bot.web.login import DiscordLogin
from server_bot.web.security import WebLimits
from shared.audit import AuditLog
from shared.config import ConfigError, DiscordSettings, StorageSettings, WebSettings
from shared.log import get_logger
from shared.tasks import spawn

log = get_logger(__name__)


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the host process handles signals


class WebServer:
    def __init__(
        self, app: FastAPI, host: str, port: int, on_stop: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._on_stop = on_stop
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            # Forwarded headers are handled by the app itself, from configured proxies only.
            proxy_headers=False,
            server_header=False,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._task = spawn(self._server.serve(), name="web-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.02)
        sockets = self._server.servers[0].sockets if self._server.servers else []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("web app listening on %s", self.url)

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()
            self._task = None
        if self._on_stop is not None:
            await self._on_stop()
            self._on_stop = None


def build_web(
    settings: WebSettings,
    *,
    core: Core,
    api_base: str,
    guild_id: int,
    objects: ObjectStore,
    audit: AuditLog,
    relay: RelayStatus,
    redis_url: str | None,
    mounts: Mapping[str, ASGIApp] | None = None,
    routers: Sequence[APIRouter] = (),
) -> WebServer:
    """The web app over the server-bot's own core, object store, audit log and relay."""
    if settings.discord_client_id is None or settings.discord_client_secret is None:
        raise ConfigError(
            "invalid configuration:\n  WEB_DISCORD_CLIENT_ID and WEB_DISCORD_CLIENT_SECRET are required"
        )
    login = DiscordLogin(
        client_id=settings.discord_client_id,
        client_secret=settings.discord_client_secret.get_secret_value(),
        authorize_url=settings.discord_authorize_url,
        api_base=api_base,
        redirect_uri=settings.redirect_uri,
        guild_id=guild_id,
    )
    limits = WebLimits(settings.rate_per_user, settings.rate_per_ip, redis_url)
    ctx = WebContext(
        settings, core, login, limits, objects, audit, relay, mounts=dict(mounts or {}), routers=routers
    )

    async def on_stop() -> None:
        await ctx.pumps.aclose()
        await limits.aclose()

    return WebServer(create_app(ctx), settings.host, settings.port, on_stop=on_stop)


class ServerParts(Protocol):
    """What the web app takes from the server-bot's shared context (`server_bot.bot.ServerContext`)."""

    @property
    def core(self) -> Core: ...
    @property
    def discord(self) -> DiscordSettings: ...
    @property
    def storage(self) -> StorageSettings: ...
    @property
    def objects(self) -> ObjectStore: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def hub(self) -> RelayStatus: ...


@contextlib.asynccontextmanager
async def serving(
    settings: WebSettings,
    parts: ServerParts,
    mounts: Mapping[str, ASGIApp] | None = None,
    routers: Sequence[APIRouter] = (),
) -> AsyncIterator[WebServer | None]:
    """Run the web app beside the bot while the block runs (nothing when `WEB_ENABLED` is false)."""
    if not settings.enabled:
        yield None
        return
    web = build_web(
        settings,
        core=parts.core,
        api_base=parts.discord.api_base,
        guild_id=parts.discord.guild_id,
        objects=parts.objects,
        audit=parts.audit,
        relay=parts.hub,
        redis_url=parts.storage.redis_url,
        mounts=mounts,
        routers=routers,
    )
    await web.start()
    try:
        yield web
    finally:
        await web.stop()
