"""Least-privilege OAuth2 invite URLs for the two bots.

Each bot asks for exactly the permissions in `shared.permissions`, the same set `/ai-admin permissions`
audits against. Why each one is there (and why Ban Members is not) is in docs/deploy.md.
"""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import quote, urlencode

import discord

from shared.permissions import CLIENT_BOT_PERMISSIONS, SERVER_BOT_PERMISSIONS

AUTHORIZE_URL: Final = "https://discord.com/oauth2/authorize"

Bot = Literal["server", "client"]

BOT_PERMISSIONS: Final[dict[Bot, discord.Permissions]] = {
    "server": SERVER_BOT_PERMISSIONS,
    "client": CLIENT_BOT_PERMISSIONS,
}

# The client-bot registers no slash commands, so it does not ask for the commands scope.
BOT_SCOPES: Final[dict[Bot, tuple[str, ...]]] = {
    "server": ("bot", "applications.commands"),
    "client": ("bot",),
}


class InviteError(ValueError):
    """A bad argument for an invite URL (a malformed client or guild id)."""


def invite_url(client_id: str, bot: Bot = "server", guild_id: str | None = None) -> str:
    """The URL a server owner opens to add `bot` (application `client_id`) with least privilege."""
    if not client_id.isdigit():
        raise InviteError("the client id is the application's numeric id (Developer Portal > OAuth2)")
    params = {
        "client_id": client_id,
        "scope": " ".join(BOT_SCOPES[bot]),
        "permissions": str(BOT_PERMISSIONS[bot].value),
    }
    if guild_id is not None:
        if not guild_id.isdigit():
            raise InviteError("the guild id must be numeric")
        # Pre-selects the server and hides the picker, so the bot cannot be added elsewhere by mistake.
        params |= {"guild_id": guild_id, "disable_guild_select": "true"}
    return f"{AUTHORIZE_URL}?{urlencode(params, quote_via=quote)}"
