"""Least-privilege OAuth2 invite URLs for the two bots.

Each bot asks for exactly the permissions its code uses, by name, so a reviewer can read the list
instead of decoding an integer. Why each one is there (and why Ban Members is not) is in docs/deploy.md.
"""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import quote, urlencode

AUTHORIZE_URL: Final = "https://discord.com/oauth2/authorize"

# Bit positions from Discord's permissions reference (developers/docs/topics/permissions).
PERMISSION_BITS: Final[dict[str, int]] = {
    "Ban Members": 1 << 2,
    "Manage Channels": 1 << 4,
    "View Channels": 1 << 10,
    "Send Messages": 1 << 11,
    "Embed Links": 1 << 14,
    "Attach Files": 1 << 15,
    "Read Message History": 1 << 16,
    "Manage Roles": 1 << 28,
}

Bot = Literal["server", "client"]

BOT_PERMISSIONS: Final[dict[Bot, tuple[str, ...]]] = {
    # Manage Channels creates the relay and session channels; Manage Roles is what Discord requires to
    # write their per-channel permission overwrites (it also lets the bot edit roles below its own, so
    # its role belongs at the bottom of the list). Ban Members is deliberately absent: the bot only needs
    # to learn of bans, and they arrive as gateway events (GUILD_MODERATION intent) needing no permission.
    "server": (
        "View Channels",
        "Send Messages",
        "Read Message History",
        "Manage Channels",
        "Manage Roles",
        "Embed Links",
        "Attach Files",
    ),
    # The client-bot only reads and writes envelopes in the relay channel (large ones as attachments).
    "client": ("View Channels", "Send Messages", "Read Message History", "Attach Files"),
}

# The client-bot registers no slash commands, so it does not ask for the commands scope.
BOT_SCOPES: Final[dict[Bot, tuple[str, ...]]] = {
    "server": ("bot", "applications.commands"),
    "client": ("bot",),
}


class InviteError(ValueError):
    """A bad argument for an invite URL (an unknown permission name or a malformed client id)."""


def permissions_value(names: tuple[str, ...] | list[str]) -> int:
    """The permissions integer for named permissions."""
    value = 0
    for name in names:
        if name not in PERMISSION_BITS:
            raise InviteError(f"unknown permission {name!r}")
        value |= PERMISSION_BITS[name]
    return value


def invite_url(client_id: str, bot: Bot = "server", guild_id: str | None = None) -> str:
    """The URL a server owner opens to add `bot` (application `client_id`) with least privilege."""
    if not client_id.isdigit():
        raise InviteError("the client id is the application's numeric id (Developer Portal > OAuth2)")
    params = {
        "client_id": client_id,
        "scope": " ".join(BOT_SCOPES[bot]),
        "permissions": str(permissions_value(BOT_PERMISSIONS[bot])),
    }
    if guild_id is not None:
        if not guild_id.isdigit():
            raise InviteError("the guild id must be numeric")
        # Pre-selects the server and hides the picker, so the bot cannot be added elsewhere by mistake.
        params |= {"guild_id": guild_id, "disable_guild_select": "true"}
    return f"{AUTHORIZE_URL}?{urlencode(params, quote_via=quote)}"
