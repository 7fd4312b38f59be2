"""The devcord server: one aiohttp app serving the gateway (`/`), the Discord API (`/api/v10`),
attachment downloads (`/attachments`) and the driver API (`/_devcord`)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from devcord import webclient
from devcord.driver import DriverApi
from devcord.errors import ApiError, DevcordError
from devcord.gateway import Gateway
from devcord.http import CALLER, json_response
from devcord.interactions import Interactions
from devcord.oauth2 import OAuth2
from devcord.pins import Pins
from devcord.ratelimit import RateLimited, RateLimiter
from devcord.rest import DiscordApi
from devcord.rest_channels import ChannelsApi
from devcord.rest_members import MembersApi
from devcord.scenario import DEMO, build

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Interaction endpoints are not bound to the bot's global rate limit ("Rate Limits > Global").
_GLOBAL_EXEMPT = ("/interactions/", "/webhooks/")
_TOKENLESS = ("/interactions/", "/webhooks/")
# The interaction callback has no per-route bucket and no X-RateLimit-* headers ("Rate Limits":
# interaction responses are not bound to the bot's limits).
_UNLIMITED = re.compile(r"^/interactions/[^/]+/[^/]+/callback$")


class Faults:
    """Injected failures for the Discord API: a delay per request and N answers with a 5xx status."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.delay_count = 0
        self.errors: list[int] = []


class Devcord:
    """A running local Discord. `await Devcord(scenario).start(host, port)`, then `await .stop()`."""

    def __init__(self, scenario: str | Path | dict[str, Any] = DEMO) -> None:
        self.world, self.settings = build(scenario)
        self.interactions = Interactions(self.world, initial_response_s=self.settings.interaction_response_s)
        self.limiter = RateLimiter(self.settings.rate_limits)
        self.faults = Faults()
        self.gateway = Gateway(
            self.world,
            heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
            url=lambda: self.gateway_url,
        )
        self.api = DiscordApi(self.world, self.interactions, gateway_url=lambda: self.gateway_url)
        self.driver = DriverApi(self)
        self.oauth2 = OAuth2(self.world)  # devcord/oauth2.py: login with Discord
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    def api_route_defs(self) -> list[web.RouteDef]:
        """Every Discord route served under /api/v10. A further resource module (e.g. OAuth2) adds its
        `routes()` to this list with one line; the conformance test probes everything listed here."""
        # Literal paths (messages/pins) before the templates that would swallow them (messages/{id}).
        return [
            *Pins(self.api).routes(),
            *self.api.routes(),
            *ChannelsApi(self.api).routes(),
            *MembersApi(self.api).routes(),
        ]

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=64 * 1024 * 1024)
        api_middlewares = [self.oauth2.middleware, self._discord]  # OAuth2/Bearer requests first
        api = web.Application(middlewares=api_middlewares, client_max_size=64 * 1024 * 1024)
        api.add_routes(self.api_route_defs())
        api.router.add_route("*", "/{tail:.*}", self._not_found)
        app.add_subapp(API_PREFIX, api)
        app.add_routes(self.driver.routes())
        app.add_routes(self.oauth2.routes())
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        # The web client (devcord/webclient.py) shares `/` with the gateway: websocket upgrades reach
        # the gateway, plain GETs get the page; its static files live under /web/.
        app.router.add_get("/", webclient.root(self.gateway.handle))
        app.add_routes(webclient.routes())
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port
        self.world.base_url = self.base_url
        log.info("devcord listening on %s", self.base_url)

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- middlewares ---------------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return json_response(exc.body(), status=exc.status)
        except DevcordError as exc:
            return json_response({"message": str(exc), "code": 0}, status=400)

    @web.middleware
    async def _discord(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(API_PREFIX)
        faults = self.faults
        if faults.delay_count > 0:
            faults.delay_count -= 1
            await asyncio.sleep(faults.delay_s)
        if faults.errors:
            status = faults.errors.pop(0)
            return json_response({"message": f"{status}: injected by devcord", "code": 0}, status=status)
        token = request.headers.get("Authorization", "")
        app = self.world.app_for_token(token.removeprefix("Bot ")) if token.startswith("Bot ") else None
        if app is not None:
            request[CALLER] = app
        elif not path.startswith(_TOKENLESS):
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        headers: dict[str, str] = {}
        resource = request.match_info.route.resource
        template = resource.canonical.removeprefix(API_PREFIX) if resource is not None else path
        if (app is not None or path.startswith(_TOKENLESS)) and not _UNLIMITED.match(path):
            owner = app.id if app is not None else 0
            try:
                headers = self.limiter.check(
                    owner,
                    request.method,
                    template,
                    dict(request.match_info),
                    global_exempt=path.startswith(_GLOBAL_EXEMPT),
                )
            except RateLimited as exc:
                return _too_many(exc)
        try:
            response = await handler(request)
        except ApiError as exc:
            response = json_response(exc.body(), status=exc.status)
        response.headers.update(headers)
        return response

    async def _not_found(self, request: web.Request) -> web.Response:
        return json_response({"message": "404: Not Found", "code": 0}, status=404)

    async def _attachment(self, request: web.Request) -> web.Response:
        wanted = int(request.match_info["attachment_id"])
        for att in self.world.all_attachments():
            if att.id == wanted:
                return web.Response(
                    body=att.data, content_type=att.content_type or "application/octet-stream"
                )
        return web.Response(status=404, text="not found")


def _too_many(exc: RateLimited) -> web.Response:
    retry_after = round(max(exc.retry_after, 0.001), 3)
    headers = dict(exc.headers)
    headers.update(
        {
            "Retry-After": str(max(1, int(retry_after + 0.999))),
            "X-RateLimit-Scope": exc.scope,
            "Via": "1.1 google",
        }
    )
    if exc.is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": exc.is_global}
    return json_response(body, status=429, headers=headers)
