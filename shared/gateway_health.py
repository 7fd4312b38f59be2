"""One `/health` check for a discord.py client's gateway connection, used by both bots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord


def gateway_check(client: discord.Client) -> Callable[[], Awaitable[tuple[bool, str]]]:
    """A `shared.health` check: healthy while the client is connected and ready; the detail is its latency."""

    async def check() -> tuple[bool, str]:
        if client.is_closed() or not client.is_ready():
            return False, "not connected"
        return True, f"latency {client.latency * 1000:.0f} ms"

    return check
