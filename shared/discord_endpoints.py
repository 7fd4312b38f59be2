"""Point the unmodified discord.py client at a Discord: the real one, or devcord in tests and the demo.

discord.py reads its REST base and its first gateway URL from private class attributes (resumes use the
`resume_gateway_url` that READY hands out); `shared.discord_internals.redirect` sets them, after checking
the discord.py version.
"""

from __future__ import annotations

from shared import discord_internals
from shared.config import DiscordSettings


def apply(settings: DiscordSettings) -> None:
    """Make every discord.py client in this process talk to `settings.api_base` / `gateway_url`.

    Raises `discord_internals.UnsupportedDiscordVersion` on a discord.py version it was not written for."""
    discord_internals.redirect(settings.api_base, settings.gateway_url)
