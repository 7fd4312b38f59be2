"""Every use of discord.py's private internals, in one place, behind a version check.

- `bucket_budget`: the rate-limit bucket discord.py recorded for a route (`HTTPClient._bucket_hashes`,
  `_buckets`), so streaming paces itself by what Discord actually said.
- `channel_http`: the `HTTPClient` behind a channel (`channel._state.http`).
- `redirect`: point discord.py at another Discord (devcord) by its REST base (`Route.BASE`) and first
  gateway URL (`DiscordWebSocket.DEFAULT_GATEWAY`).

These were written against the discord.py versions in `SUPPORTED`; `check_version()` stops start-up with a
clear message on any other version (called by `redirect`, which both bots run first), rather than letting
a renamed private attribute fail in the middle of a conversation.
"""

from __future__ import annotations

import asyncio

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route

# Major.minor versions whose internals this module was checked against (the e2e suite runs on them).
SUPPORTED: tuple[str, ...] = ("2.7",)


class UnsupportedDiscordVersion(RuntimeError):
    """The installed discord.py is not one this module was written for."""


def check_version(version: str | None = None) -> None:
    """Raise `UnsupportedDiscordVersion` unless discord.py's major.minor is in `SUPPORTED`."""
    found = version or discord.__version__
    if ".".join(found.split(".")[:2]) not in SUPPORTED:
        raise UnsupportedDiscordVersion(
            f"discord.py {found} is not supported (this MeatLizard needs {', '.join(SUPPORTED)}.x): it "
            "relies on discord.py internals in shared/discord_internals.py. Install the version pinned in "
            "pyproject.toml."
        )


def redirect(api_base: str, gateway_url: str) -> None:
    """Make every discord.py client in this process talk to `api_base` / `gateway_url`."""
    check_version()
    discord.http.Route.BASE = api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def channel_http(channel: discord.abc.Messageable) -> HTTPClient:
    """The HTTP client a channel object sends through."""
    return channel._state.http


def bucket_budget(http: HTTPClient, route: Route) -> tuple[int, float] | None:
    """(requests still allowed, seconds until the bucket refills) as discord.py last recorded them for
    `route`, or None before the first response."""
    bucket_hash = http._bucket_hashes.get(route.key)
    if bucket_hash is None:
        return None
    ratelimit = http._buckets.get(f"{bucket_hash}:{route.major_parameters}")
    if ratelimit is None:
        return None
    loop = asyncio.get_running_loop()
    if ratelimit.expires is None or ratelimit.expires <= loop.time():
        return ratelimit.limit - ratelimit.outgoing, 0.0
    return ratelimit.remaining, ratelimit.expires - loop.time()
