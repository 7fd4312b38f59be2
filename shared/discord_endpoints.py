"""Point the unmodified discord.py client at a Discord: the real one, or devcord in tests and the demo.

discord.py reads its REST base from `discord.http.Route.BASE` and its first gateway URL from
`DiscordWebSocket.DEFAULT_GATEWAY` (resumes use the `resume_gateway_url` that READY hands out). This is
the only place in the project that touches them.
"""

from __future__ import annotations

import discord
import yarl
from discord.gateway import DiscordWebSocket

from shared.config import DiscordSettings


def apply(settings: DiscordSettings) -> None:
    """Make every discord.py client in this process talk to `settings.api_base` / `gateway_url`."""
    discord.http.Route.BASE = settings.api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
