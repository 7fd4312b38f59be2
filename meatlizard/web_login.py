"""The web app in the local stack: registers the server-bot as an OAuth2 client at devcord (its
"developer portal") and serves the web app beside the bot, signed in through devcord's consent page.

Used by `meatlizard demo` and the web end-to-end tests; production reads WEB_* from the environment."""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from devcord import Devcord
from server_bot.web import WebServer, serving
from server_bot.web.server import ServerParts
from shared.config import WebSettings


async def register_client(devcord: Devcord, redirect_uri: str) -> tuple[int, str]:
    """(client id, client secret) of the server-bot application, with `redirect_uri` allowed."""
    body = {"application": "server-bot", "redirect_uris": [redirect_uri]}
    url = devcord.base_url + "/_devcord/oauth2/clients"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as answer:
        answer.raise_for_status()
        data = await answer.json()
    return int(data["client_id"]), str(data["client_secret"])


@contextlib.asynccontextmanager
async def web_on_devcord(
    devcord: Devcord, parts: ServerParts, port: int, **extras: Any
) -> AsyncIterator[WebServer]:
    """Serve the web app on 127.0.0.1:`port` (0: a free one) with login through `devcord`."""
    if port == 0:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    public_url = f"http://127.0.0.1:{port}"
    client_id, client_secret = await register_client(devcord, public_url + "/auth/callback")
    settings = WebSettings(
        enabled=True,
        host="127.0.0.1",
        port=port,
        public_url=public_url,
        session_secret=secrets.token_urlsafe(32),
        cookie_secure=False,  # plain http on loopback; production is https behind the proxy
        discord_client_id=client_id,
        discord_client_secret=client_secret,
        discord_authorize_url=devcord.base_url + "/oauth2/authorize",
    )
    async with serving(settings, parts, **extras) as web:  # extras: mounts, routers (MCP)
        assert web is not None
        yield web
