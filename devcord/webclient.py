"""The web client: a small page at `/` for acting as a person in a browser (pick a user, read and post
in the channels they may see, run slash commands, press buttons, watch edits arrive live).

The page is static (`devcord/web/`: one HTML page, one stylesheet and a few plain scripts, one concept
each, no build step) and talks only to the driver API under /_devcord/. `/` is shared with the gateway:
discord.py connects there with a websocket upgrade, so only requests that are not an upgrade get the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).parent / "web"
ASSET_PREFIX = "/web"
# The only files served: a fixed list, so no request path ever reaches the filesystem.
_ASSETS = {
    "app.js": "text/javascript",
    "markdown.js": "text/javascript",
    "commands.js": "text/javascript",
    "composer.js": "text/javascript",
    "ephemeral.js": "text/javascript",
    "app.css": "text/css",
}
# Message content is rendered as text by the page; the policy is a second line of defence in case a
# future change ever let markup through (no inline scripts, nothing from elsewhere).
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def root(gateway: Handler) -> Handler:
    """The handler for `/`: websocket upgrades go to `gateway`, anything else gets the page."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if web.WebSocketResponse().can_prepare(request).ok:
            return await gateway(request)
        return _file("index.html", "text/html")

    return handle


def routes() -> list[web.RouteDef]:
    return [web.get(ASSET_PREFIX + "/{name}", _asset)]


async def _asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    content_type = _ASSETS.get(name)
    if content_type is None:
        return web.Response(status=404, text="not found")
    return _file(name, content_type)


def _file(name: str, content_type: str) -> web.Response:
    # Read per request: the files are a few kilobytes and an edited page shows on reload.
    body = (WEB_DIR / name).read_bytes()
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=_HEADERS)
